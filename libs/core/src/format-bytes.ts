/** A size in bytes as an operator reads it, in binary units: `512 B`, `3.2 KiB`, `14.0 MiB`, `1.5 GiB` (the CLI, the dashboard, plan reports). */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${u === 0 ? Math.round(v) : v.toFixed(1)} ${units[u]}`;
}
