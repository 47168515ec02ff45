import net from 'node:net';

/**
 * A TCP proxy a test controls: `cut()` drops every connection and refuses new ones (a router cut
 * off from Redis), `stall()` keeps connections open but lets no byte through (a network black
 * hole: no answer, no reset), `restore()` lets connections through again (a stalled connection
 * has lost bytes: it is not usable again). Listens on a fixed port throughout.
 */
export class TcpProxy {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #cut = false;
  #stalled = false;

  private constructor(targetHost: string, targetPort: number) {
    this.#server = net.createServer((client) => {
      if (this.#cut) {
        client.destroy();
        return;
      }
      const upstream = net.connect(targetPort, targetHost);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          this.#sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.on('data', (data) => {
        if (!this.#stalled) upstream.write(data);
      });
      upstream.on('data', (data) => {
        if (!this.#stalled) client.write(data);
      });
    });
  }

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetHost, targetPort);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  cut(): void {
    this.#cut = true;
    for (const s of this.#sockets) s.destroy();
  }

  stall(): void {
    this.#stalled = true;
  }

  restore(): void {
    this.#cut = false;
    this.#stalled = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
