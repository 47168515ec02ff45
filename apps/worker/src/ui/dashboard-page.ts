/** The dashboard: one static page that polls the JSON API (no build step, no external assets). */
export const DASHBOARD_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>cleave</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f5f6f8; }
  header { background: #1d2330; color: #fff; padding: 10px 20px; display: flex; gap: 16px; align-items: center; }
  header a { color: #9ecbff; }
  main { padding: 16px 20px; display: grid; gap: 16px; }
  section { background: #fff; border-radius: 6px; padding: 12px 16px; box-shadow: 0 1px 2px #0002; }
  h2 { font-size: 15px; margin: 0 0 8px; }
  table { border-collapse: collapse; width: 100%; }
  td, th { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eee; }
  .bar { background: #e4e7ec; border-radius: 3px; height: 10px; width: 160px; }
  .bar > div { background: #3b82f6; height: 10px; border-radius: 3px; }
  .phase { font-weight: 600; padding: 2px 8px; border-radius: 10px; background: #e0ecff; }
  .clean { color: #137333; font-weight: 600; } .dirty { color: #b3261e; font-weight: 600; }
  button { margin-right: 8px; } #message { margin-left: 8px; }
  ol.timeline { margin: 0; padding-left: 20px; }
</style>
</head>
<body>
<header><strong>cleave</strong><span>migrations</span><a href="queues">queues (bull-board)</a><a href="metrics">metrics</a></header>
<main>
  <section><h2>Migrations</h2><table id="migrations"><thead><tr><th>name</th><th>id</th><th>phase</th><th>epoch</th></tr></thead><tbody></tbody></table></section>
  <section id="detail" hidden>
    <h2>Migration <span id="name"></span> <span class="phase" id="phase"></span></h2>
    <div id="actions">
      <input id="token" type="password" placeholder="action token" autocomplete="off">
      <button id="advance">advance phase</button><button id="rollback">roll back</button>
      <input id="confirm" placeholder="type the name to finalize"><button id="finalize">finalize (irreversible)</button>
      <span id="message"></span>
    </div>
  </section>
  <section id="backfill-section" hidden><h2>Backfill</h2>
    <table id="backfill"><thead><tr><th>unit</th><th>target</th><th>state</th><th>progress</th><th>rows</th><th>rows/s</th><th>segments</th></tr></thead><tbody></tbody></table>
    <svg id="chart" width="600" height="120" viewBox="0 0 600 120" role="img" aria-label="rows per second"></svg>
  </section>
  <section id="capture-section" hidden><h2>Binlog capture</h2><table id="capture"><thead><tr><th>stream</th><th>server</th><th>state</th><th>position</th><th>behind</th><th>changes applied</th><th>last checkpoint</th></tr></thead><tbody></tbody></table></section>
  <section id="routers-section" hidden><h2>Routers</h2><table id="routers"><thead><tr><th>router</th><th>service</th><th>host</th><th>epoch acknowledged</th><th>holding writes for fence</th></tr></thead><tbody></tbody></table></section>
  <section id="shadow-section" hidden><h2>Shadow reads</h2><table id="shadow-reads"><thead><tr><th>reads routed under</th><th>compared</th><th>mismatched</th><th>mismatch rate</th><th>failed to run</th></tr></thead><tbody></tbody></table><ul id="shadow-mismatches"></ul></section>
  <section id="throttle-section" hidden><h2>Throttling</h2><table id="throttle"><tbody></tbody></table></section>
  <section id="verify-section" hidden><h2>Verification</h2><table id="verification"><thead><tr><th>run</th><th>result</th><th>rows checked</th><th>differing</th><th>repaired</th><th>passes</th></tr></thead><tbody></tbody></table></section>
  <section id="events-section" hidden><h2>Timeline</h2><ol class="timeline" id="events"></ol></section>
</main>
<script>
const $ = (id) => document.getElementById(id);
const esc = (v) => String(v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const pct = (rate) => rate === null ? '-' : (rate * 100).toFixed(2) + '%';
const ms = (v) => (v < 10 ? v.toFixed(1) : fmt(v)) + ' ms';

function shadowRow(label, f) {
  return '<tr><td>' + label + '</td><td class="compared">' + fmt(f.compared) + '</td><td class="mismatched">' + fmt(f.mismatched) + '</td><td class="rate' + (f.mismatched > 0 ? ' dirty' : '') + '">' + pct(f.rate) + '</td><td>' + fmt(f.errors) + '</td></tr>';
}

function shadowReads(s) {
  const r = s.shadowReads;
  if (!r || r.routers === 0) {
    $('shadow-reads').tBodies[0].innerHTML = '<tr><td colspan="5">no router reported shadow reads (routers compare a sample of reads when shadowReads.sampleRate is set)</td></tr>';
    $('shadow-mismatches').innerHTML = '';
    return;
  }
  $('shadow-reads').tBodies[0].innerHTML = shadowRow('all phases (' + r.routers + ' routers)', r) +
    (r.currentPhase ? shadowRow('this phase, ' + esc(r.currentPhase.phase) + ' (epoch ' + r.currentPhase.epoch + ')', r.currentPhase) : '<tr><td colspan="5">none compared in this phase yet</td></tr>');
  $('shadow-mismatches').innerHTML = r.recentMismatches.map((m) =>
    '<li>' + esc(new Date(m.at).toISOString()) + ' ' + esc(m.table) + ' (epoch ' + m.epoch + ', router ' + esc(m.routerId) + '): ' + m.servedOnly + ' rows only served, ' + m.otherOnly + ' only on the other side</li>').join('');
}

function capture(s) {
  if (s.capture.length === 0) {
    $('capture').tBodies[0].innerHTML = '<tr><td colspan="7" class="dirty">OFF (started with --no-capture): writes made outside @cleave/router reach the other side only through verification passes</td></tr>';
    return;
  }
  $('capture').tBodies[0].innerHTML = s.capture.map((c) =>
    '<tr data-stream="' + esc(c.stream) + '"><td>' + esc(c.stream) + '</td><td>' + esc(c.server) + '</td><td class="' + (c.state === 'failed' ? 'dirty' : '') + '">' + esc(c.state) + (c.error ? ': ' + esc(c.error) : '') + '</td>' +
    '<td>' + esc(c.checkpoint.file + ':' + c.checkpoint.position) + (c.checkpoint.gtid ? ' (GTID ' + esc(c.checkpoint.gtid) + ')' : '') + '</td>' +
    '<td>' + (c.lagMs === null ? '-' : ms(c.lagMs)) + '</td><td>' + fmt(c.changesApplied) + '</td><td>' + (c.checkpointedAt ? esc(c.checkpointedAt) : 'never') + '</td></tr>').join('');
}

function switchFigures(d) {
  if (!d) return '';
  const parts = [];
  if (d.writePause) parts.push('write pause ≤ ' + Math.round(d.writePause.heldUpToMs) + ' ms');
  if (d.heldWrites) parts.push('held writes ' + fmt(d.heldWrites.count) + ', max ' + ms(d.heldWrites.maxMs) + ', p99 ' + ms(d.heldWrites.p99Ms) + ' (' + d.heldWrites.routers + ' routers' +
    (d.heldWrites.unreported && d.heldWrites.unreported.length ? ', not reported by ' + esc(d.heldWrites.unreported.join(', ')) : '') + ')');
  return parts.length ? ' <span class="switch">(' + parts.join('; ') + ')</span>' : '';
}
let selected = new URLSearchParams(location.search).get('migration');

async function refreshList() {
  const list = await (await fetch('api/migrations')).json();
  $('migrations').tBodies[0].innerHTML = list.map((m) =>
    '<tr><td><a href="?migration=' + esc(m.id) + '">' + esc(m.name) + '</a></td><td>' + esc(m.id) + '</td><td data-phase="' + esc(m.phase) + '">' + esc(m.phase) + '</td><td>' + m.epoch + '</td></tr>').join('');
  if (!selected && list.length) selected = list[list.length - 1].id;
}

function chart(rates) {
  const pts = rates.map((r) => Object.values(r.rowsPerSecond).reduce((a, b) => a + b, 0));
  const max = Math.max(1, ...pts);
  const step = pts.length > 1 ? 600 / (pts.length - 1) : 0;
  const line = pts.map((v, i) => (i * step).toFixed(1) + ',' + (115 - (v / max) * 105).toFixed(1)).join(' ');
  $('chart').innerHTML = '<polyline fill="none" stroke="#3b82f6" stroke-width="2" points="' + line + '"/>' +
    '<text x="4" y="12" font-size="11">' + fmt(max) + ' rows/s</text>';
}

async function refreshDetail() {
  if (!selected) return;
  const res = await fetch('api/migrations/' + encodeURIComponent(selected));
  if (!res.ok) return;
  const s = await res.json();
  for (const id of ['detail', 'backfill-section', 'capture-section', 'routers-section', 'shadow-section', 'throttle-section', 'verify-section', 'events-section']) $(id).hidden = false;
  shadowReads(s);
  capture(s);
  $('routers').tBodies[0].innerHTML = s.routers.length
    ? s.routers.map((r) => '<tr><td>' + esc(r.routerId) + '</td><td>' + esc(r.service) + '</td><td>' + esc(r.host) + '</td><td>' + (r.ackedEpoch === null ? '-' : r.ackedEpoch) + (r.ackedEpoch === s.migration.epoch ? ' (current)' : '') + '</td><td>' + esc(r.fenceId || '-') + '</td></tr>').join('')
    : '<tr><td colspan="5">' + (s.capture.length > 0 ? 'none registered: writes reach the other side through binlog capture' : 'no router registered: writes that bypass @cleave/router are caught only by verification') + '</td></tr>';
  $('name').textContent = s.migration.name + ' (' + s.migration.id + ')';
  $('phase').textContent = s.migration.phase;
  $('backfill').tBodies[0].innerHTML = s.backfill.tables.map((t) =>
    '<tr data-unit="' + esc(t.table) + '"><td>' + esc(t.table) + '</td><td>' + esc(t.target) + '</td><td>' + esc(t.state) + '</td>' +
    '<td><div class="bar"><div style="width:' + t.percent.toFixed(1) + '%"></div></div> <span class="percent">' + t.percent.toFixed(1) + '%</span></td>' +
    '<td class="rows">' + fmt(t.rowsCopied) + ' / ' + fmt(t.rowsEstimate) + '</td><td>' + fmt(t.rowsPerSecond) + '</td><td>' + t.segmentsDone + '/' + t.segments + '</td></tr>').join('');
  chart(s.rates);
  $('throttle').tBodies[0].innerHTML = s.throttling.length
    ? s.throttling.map((t) => '<tr><td>' + esc(t.reason) + '</td><td>' + (t.throttledMs / 1000).toFixed(1) + ' s</td></tr>').join('')
    : '<tr><td>never throttled</td></tr>';
  $('verification').tBodies[0].innerHTML = s.verification.map((v) =>
    '<tr><td>' + v.id + '</td><td class="' + (v.clean ? 'clean' : 'dirty') + '">' + (v.clean === null ? 'running' : v.clean ? 'clean' : 'differences remain') + '</td><td>' + fmt(v.rowsChecked) + '</td><td>' + fmt(v.rowsDiffering) + '</td><td>' + fmt(v.rowsRepaired) + '</td><td>' + v.passes + '</td></tr>').join('');
  $('events').innerHTML = s.events.map((e) =>
    '<li>' + esc(e.at) + ' — ' + esc(e.actor) + ': ' + esc(e.kind) + (e.from || e.to ? ' ' + esc(e.from || '-') + ' → ' + esc(e.to || '-') : '') +
    switchFigures(e.details) + (e.reason ? ' (' + esc(e.reason) + ')' : '') + '</li>').join('');
}

async function act(action) {
  const body = action === 'finalize' ? { confirm: $('confirm').value } : {};
  const res = await fetch('api/migrations/' + encodeURIComponent(selected) + '/' + action, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + $('token').value }, body: JSON.stringify(body) });
  const out = await res.json();
  $('message').textContent = res.ok ? 'now ' + out.phase : out.error;
  await refreshDetail();
}
$('advance').onclick = () => act('advance');
$('rollback').onclick = () => act('rollback');
$('finalize').onclick = () => act('finalize');

async function tick() {
  try { await refreshList(); await refreshDetail(); } catch (e) { /* the next tick retries */ }
}
tick();
setInterval(tick, 1000);
</script>
</body>
</html>`;
