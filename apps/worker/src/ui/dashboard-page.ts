/**
 * The dashboard: one static page that polls the JSON API (no build step, no external assets).
 * Every fact on it comes from the worker (the stepper's checks, the rows/s history, throttling);
 * the page only draws them. It never holds a secret but the token the operator types.
 */
export const DASHBOARD_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>cleave</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f5f6f8; }
  header { background: #1d2330; color: #fff; padding: 10px 20px; display: flex; gap: 16px; align-items: center; }
  header a { color: #9ecbff; }
  main { padding: 16px 20px; display: grid; gap: 16px; max-width: 1200px; }
  section { background: #fff; border-radius: 6px; padding: 12px 16px; box-shadow: 0 1px 2px #0002; }
  h2 { font-size: 15px; margin: 0 0 8px; } h3 { font-size: 13px; margin: 10px 0 4px; }
  table { border-collapse: collapse; width: 100%; }
  td, th { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eee; vertical-align: top; }
  .bar { background: #e4e7ec; border-radius: 3px; height: 10px; width: 140px; display: inline-block; vertical-align: middle; }
  .bar > div { background: #3b82f6; height: 10px; border-radius: 3px; }
  .phase { font-weight: 600; padding: 2px 8px; border-radius: 10px; background: #e0ecff; }
  .clean, .pass, .good { color: #137333; font-weight: 600; } .dirty, .fail, .bad { color: #b3261e; font-weight: 600; } .warn { color: #9a6700; font-weight: 600; }
  .muted { color: #5f6673; }
  #warnings { list-style: none; margin: 0; padding: 0; display: grid; gap: 6px; }
  #warnings li { background: #fff4e5; border: 1px solid #f0b429; border-left: 6px solid #d97706; border-radius: 4px; padding: 8px 12px; font-weight: 500; }
  #warnings li.severe { background: #fdecea; border-color: #e57373; border-left-color: #b3261e; }
  #warnings li::before { content: "⚠ "; font-weight: 700; }
  ol.stepper { list-style: none; display: flex; margin: 4px 0 12px; padding: 0; counter-reset: step; }
  ol.stepper li { flex: 1; text-align: center; position: relative; padding-top: 30px; font-size: 12px; color: #5f6673; counter-increment: step; }
  ol.stepper li::before { content: counter(step); position: absolute; top: 0; left: 50%; transform: translateX(-50%); width: 24px; height: 24px; line-height: 24px; border-radius: 50%; background: #e4e7ec; color: #1d2330; font-weight: 600; z-index: 1; }
  ol.stepper li::after { content: ""; position: absolute; top: 11px; left: -50%; width: 100%; height: 2px; background: #e4e7ec; }
  ol.stepper li:first-child::after { display: none; }
  ol.stepper li[data-state="done"]::before { content: "✓"; background: #137333; color: #fff; }
  ol.stepper li[data-state="done"], ol.stepper li[data-state="current"] { color: #1d2330; }
  ol.stepper li[data-state="done"]::after, ol.stepper li[data-state="current"]::after { background: #137333; }
  ol.stepper li[data-state="current"] { font-weight: 700; }
  ol.stepper li[data-state="current"]::before { background: #3b82f6; color: #fff; box-shadow: 0 0 0 4px #3b82f633; }
  ol.stepper li[data-next] { color: #1d2330; }
  .steps { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
  .checks td.status { width: 48px; text-transform: uppercase; font-size: 12px; }
  .facts { display: flex; gap: 24px; flex-wrap: wrap; margin-bottom: 8px; }
  .facts > div { min-width: 160px; } .facts b { display: block; font-size: 12px; color: #5f6673; font-weight: 500; }
  #throttle-now.throttled { color: #9a6700; font-weight: 600; }
  #actions { margin-top: 10px; display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
  button { padding: 4px 10px; } button:disabled { cursor: not-allowed; }
  button.danger { background: #b3261e; color: #fff; border: 1px solid #8c1d18; border-radius: 3px; }
  ol.timeline { margin: 0; padding-left: 20px; } ol.timeline li { margin: 2px 0; }
  ol.timeline .title { font-weight: 600; }
</style>
</head>
<body>
<header><strong>cleave</strong><span>migrations</span><a href="queues">queues (bull-board)</a><a href="metrics">metrics</a></header>
<main>
  <section><h2>Migrations</h2><table id="migrations"><thead><tr><th>name</th><th>id</th><th>phase</th><th>epoch</th></tr></thead><tbody></tbody></table></section>
  <section id="detail" hidden>
    <h2>Migration <span id="name"></span> <span class="phase" id="phase"></span></h2>
    <ul id="warnings"></ul>
    <ol class="stepper" id="stepper"></ol>
    <div class="muted" id="routing"></div>
    <div class="steps">
      <div id="next-step"></div>
      <div id="rollback-step"></div>
    </div>
    <div id="actions">
      <span id="readonly" class="muted" hidden></span>
      <input id="token" type="password" placeholder="action token" autocomplete="off" hidden>
      <input id="confirm" placeholder="type the name to finalize" autocomplete="off" hidden>
      <span id="buttons"></span>
      <span id="message"></span>
    </div>
  </section>
  <section id="backfill-section" hidden><h2>Backfill</h2>
    <div class="facts">
      <div><b>workers alive</b><span id="workers"></span></div>
      <div><b>throttled now</b><span id="throttle-now"></span></div>
      <div><b>capture lag</b><span id="capture-lag"></span></div>
    </div>
    <table id="backfill"><thead><tr><th>unit</th><th>target</th><th>state</th><th>progress</th><th>rows</th><th>rows/s</th><th>ETA</th><th>segments</th></tr></thead><tbody></tbody></table>
    <h3>rows/s, whole migration (sampled by the worker)</h3>
    <svg id="chart" width="640" height="150" viewBox="0 0 640 150" role="img" aria-label="rows per second"></svg>
  </section>
  <section id="capture-section" hidden><h2>Binlog capture</h2><table id="capture"><thead><tr><th>stream</th><th>server</th><th>state</th><th>position</th><th>lag</th><th>binlog behind</th><th>changes applied</th><th>changes/s</th><th>last checkpoint</th><th>run by</th></tr></thead><tbody></tbody></table></section>
  <section id="routers-section" hidden><h2>Routers</h2><table id="routers"><thead><tr><th>router</th><th>service</th><th>host</th><th>epoch acknowledged</th><th>holding writes for fence</th></tr></thead><tbody></tbody></table></section>
  <section id="shadow-section" hidden><h2>Shadow reads</h2><table id="shadow-reads"><thead><tr><th>reads routed under</th><th>compared</th><th>mismatched</th><th>mismatch rate</th><th>failed to run</th></tr></thead><tbody></tbody></table><ul id="shadow-mismatches"></ul></section>
  <section id="throttle-section" hidden><h2>Throttling, time waited</h2><table id="throttle"><tbody></tbody></table></section>
  <section id="verify-section" hidden><h2>Verification</h2><table id="verification"><thead><tr><th>run</th><th>result</th><th>rows checked</th><th>differing</th><th>repaired</th><th>passes</th></tr></thead><tbody></tbody></table></section>
  <section id="events-section" hidden><h2>Timeline</h2><ol class="timeline" id="events"></ol></section>
</main>
<script>
const $ = (id) => document.getElementById(id);
const esc = (v) => String(v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const pct = (rate) => rate === null ? '-' : (rate * 100).toFixed(2) + '%';
const ms = (v) => (v < 10 ? v.toFixed(1) : fmt(v)) + ' ms';
const perSecond = (v) => (v < 10 ? v.toFixed(1) : fmt(v));
const time = (iso) => iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : 'never';
const SEVERE = ['no-worker', 'verification-differences', 'finalized-unclean', 'capture-failed', 'backfill-failed', 'shadow-read-mismatches'];

let selected = new URLSearchParams(location.search).get('migration');
let shown = null;
let actionsKey = '';

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
  const lags = s.capture.filter((c) => c.state === 'active' && c.lagMs !== null).map((c) => c.lagMs);
  $('capture-lag').textContent = s.capture.length === 0 ? 'capture off' : lags.length ? ms(Math.max(...lags)) + (s.capture.length > 1 ? ' (slowest stream)' : '') : 'no checkpoint yet';
  if (s.capture.length === 0) {
    $('capture').tBodies[0].innerHTML = '<tr><td colspan="10" class="dirty">OFF (started with --no-capture): writes made outside @cleave/router reach the other side only through verification passes</td></tr>';
    return;
  }
  $('capture').tBodies[0].innerHTML = s.capture.map((c) =>
    '<tr data-stream="' + esc(c.stream) + '"><td>' + esc(c.stream) + '</td><td>' + esc(c.server) + '</td><td class="' + (c.state === 'failed' ? 'dirty' : '') + '">' + esc(c.state) + (c.error ? ': ' + esc(c.error) : '') + '</td>' +
    '<td>' + esc(c.position) + '</td><td>' + (c.lagMs === null ? '-' : ms(c.lagMs)) + '</td><td class="behind">' + esc(c.behind) + '</td>' +
    '<td>' + fmt(c.changesApplied) + '</td><td class="rate">' + (c.changesPerSecond === null ? '-' : perSecond(c.changesPerSecond)) + '</td><td>' + esc(time(c.checkpointedAt)) + '</td>' +
    '<td class="' + (c.runBy === null && c.state === 'active' ? 'dirty' : '') + '">' + (c.runBy === null ? (c.state === 'active' ? 'no worker' : '-') : esc(c.runBy)) + '</td></tr>').join('');
}

function checksTable(step) {
  if (step.checks.length === 0) return '<div class="muted">needs no precondition</div>';
  return '<table class="checks"><tbody>' + step.checks.map((c) =>
    '<tr data-check="' + esc(c.name) + '"><td class="status ' + esc(c.status) + '">' + esc(c.status) + '</td><td><b>' + esc(c.name) + '</b>: ' + esc(c.detail) +
    (c.requires ? '<div class="muted">requires ' + esc(c.requires) + '</div>' : '') + '</td></tr>').join('') + '</tbody></table>';
}

function stepper(s) {
  const st = s.stepper;
  const nextTo = st.next ? st.next.to : null;
  $('stepper').innerHTML = st.phases.map((p) =>
    '<li data-phase="' + esc(p.phase) + '" data-state="' + esc(p.state) + '"' + (p.phase === nextTo ? ' data-next' : '') + '>' + esc(p.phase) + (p.state === 'current' ? '<br>(now)' : p.phase === nextTo ? '<br>(next)' : '') + '</li>').join('');
  $('routing').textContent = 'routing now: ' + st.routing + (st.checkedAt ? ' · checks evaluated ' + time(st.checkedAt) + ', as cleave cutover --dry-run' : '');
  if (st.cancelled) {
    $('next-step').innerHTML = '<h3>Cancelled</h3><div class="muted">terminal: no phase change follows</div>';
    $('rollback-step').innerHTML = '';
    return;
  }
  $('next-step').innerHTML = st.next
    ? '<h3>Next step: ' + esc(st.current) + ' → <span id="next-phase">' + esc(st.next.to) + '</span>' + (st.next.fenced ? ' (fenced switch)' : '') + (st.next.irreversible ? ' <span class="bad">IRREVERSIBLE</span>' : '') + '</h3>' +
      '<div class="muted">routing after: ' + esc(st.next.routingAfter) + '</div>' +
      (st.next.warning ? '<div class="bad">' + esc(st.next.warning) + '</div>' : '') +
      '<div id="next-verdict" class="' + (st.next.blocked ? 'fail' : 'pass') + '">' + (st.next.blocked ? 'would be refused now' : 'preconditions met') + '</div>' + checksTable(st.next)
    : '<h3>Next step</h3><div id="next-verdict" class="muted">none: ' + esc(st.current) + ' is the last phase</div>';
  $('rollback-step').innerHTML = st.rollback
    ? '<h3>Rollback from here: ' + esc(st.current) + ' → <span id="rollback-phase">' + esc(st.rollback.to) + '</span>' + (st.rollback.fenced ? ' (fenced switch)' : '') + '</h3>' +
      '<div class="muted">routing after: ' + esc(st.rollback.routingAfter) + '</div>' + checksTable(st.rollback)
    : '<h3>Rollback from here</h3><div id="rollback-none" class="muted">' + (st.current === 'finalized' ? 'none: finalized is irreversible' : 'none: ' + esc(st.current) + ' has nothing to roll back') + '</div>';
}

function actions(s) {
  const a = s.stepper.actions;
  const possible = [];
  if (a.advance) possible.push('advance:' + a.advance + ':' + (s.stepper.next && s.stepper.next.blocked ? 'blocked' : 'ok'));
  if (a.rollback) possible.push('rollback:' + a.rollback);
  if (a.finalize) possible.push('finalize:' + (s.stepper.next && s.stepper.next.blocked ? 'blocked' : 'ok'));
  const key = s.migration.id + '|' + s.migration.phase + '|' + a.tokenSet + '|' + possible.join(',');
  if (key === actionsKey) return;
  actionsKey = key;
  const blockedWhy = s.stepper.next && s.stepper.next.blocked ? 'refused now: ' + s.stepper.next.checks.filter((c) => c.status === 'fail').map((c) => c.name).join(', ') : '';
  let html = '';
  if (a.advance) html += '<button id="advance"' + (blockedWhy ? ' disabled title="' + esc(blockedWhy) + '"' : '') + '>advance to ' + esc(a.advance) + '</button>';
  if (a.rollback) html += '<button id="rollback">roll back to ' + esc(a.rollback) + '</button>';
  if (a.finalize) html += '<button id="finalize" class="danger"' + (blockedWhy ? ' disabled title="' + esc(blockedWhy) + '"' : '') + '>finalize (irreversible)</button>';
  $('buttons').innerHTML = html;
  $('token').hidden = possible.length === 0;
  $('confirm').hidden = !a.finalize;
  const ro = $('readonly');
  ro.hidden = possible.length > 0;
  ro.textContent = !a.tokenSet ? 'read-only: this worker has no action token (set CLEAVE_UI_TOKEN to act from here)'
    : s.migration.cancelledAt ? 'no action: the migration is cancelled'
    : s.migration.phase === 'finalized' ? 'no action: finalized is irreversible'
    : s.migration.phase === 'planned' ? 'no action here: cleave start moves it to dual_write and queues its copy; cleave cancel ends it' : 'no action possible from ' + s.migration.phase;
  for (const name of ['advance', 'rollback', 'finalize']) if ($(name)) $(name).onclick = () => act(name);
}

function chart(rates) {
  const svg = $('chart');
  svg.setAttribute('data-points', String(rates.length));
  if (rates.length < 2) {
    svg.setAttribute('data-peak', '0');
    svg.innerHTML = '<text x="8" y="70" font-size="12" fill="#5f6673">no copy sampled yet</text>';
    return;
  }
  const pts = rates.map((r) => r.rowsPerSecond);
  const max = Math.max(1, ...pts);
  const t0 = rates[0].at, t1 = rates[rates.length - 1].at;
  const x = (at) => 40 + ((at - t0) / Math.max(1, t1 - t0)) * 590;
  const y = (v) => 125 - (v / max) * 110;
  const line = rates.map((r) => x(r.at).toFixed(1) + ',' + y(r.rowsPerSecond).toFixed(1)).join(' ');
  svg.setAttribute('data-peak', String(Math.round(max)));
  const span = Math.round((t1 - t0) / 1000);
  svg.innerHTML = '<line x1="40" y1="125" x2="630" y2="125" stroke="#c9ced6"/><line x1="40" y1="15" x2="40" y2="125" stroke="#c9ced6"/>' +
    '<polyline fill="none" stroke="#3b82f6" stroke-width="2" points="' + line + '"/>' +
    '<text x="44" y="12" font-size="11">' + fmt(max) + ' rows/s</text><text x="4" y="129" font-size="11">0</text>' +
    '<text x="40" y="142" font-size="11">' + esc(new Date(t0).toISOString().slice(11, 19)) + 'Z</text>' +
    '<text x="630" y="142" font-size="11" text-anchor="end">' + esc(new Date(t1).toISOString().slice(11, 19)) + 'Z (' + (span >= 120 ? Math.round(span / 60) + ' min' : span + ' s') + ')</text>';
}

function throttle(s) {
  const now = s.throttle.now;
  const el = $('throttle-now');
  el.className = now.length ? 'throttled' : '';
  el.textContent = now.length
    ? now.map((t) => (t.seenBy === 'this worker' ? t.reason : t.throttler + ' (another worker)')).join('; ')
    : s.throttle.watching || !s.backfill.complete ? 'no' : 'no (nothing to copy)';
  $('throttle').tBodies[0].innerHTML = s.throttle.totals.length
    ? s.throttle.totals.map((t) => '<tr><td>' + esc(t.throttler) + '</td><td>' + (t.throttledMs / 1000).toFixed(1) + ' s</td><td class="muted">last ' + esc(time(t.lastAt)) + '</td></tr>').join('')
    : '<tr><td>never throttled</td></tr>';
}

async function refreshList() {
  const list = await (await fetch('api/migrations')).json();
  $('migrations').tBodies[0].innerHTML = list.map((m) =>
    '<tr><td><a href="?migration=' + esc(m.id) + '">' + esc(m.name) + '</a></td><td>' + esc(m.id) + '</td><td data-phase="' + esc(m.phase) + '">' + esc(m.phase) + (m.cancelled ? ' (cancelled)' : '') + '</td><td>' + m.epoch + '</td></tr>').join('');
  if (!selected && list.length) selected = list[list.length - 1].id;
}

async function refreshDetail() {
  if (!selected) return;
  const res = await fetch('api/migrations/' + encodeURIComponent(selected));
  if (!res.ok) return;
  const s = await res.json();
  shown = s;
  for (const id of ['detail', 'backfill-section', 'capture-section', 'routers-section', 'shadow-section', 'throttle-section', 'verify-section', 'events-section']) $(id).hidden = false;
  $('name').textContent = s.migration.name + ' (' + s.migration.id + ')';
  $('phase').textContent = s.migration.phase + (s.migration.cancelledAt ? ' (cancelled)' : '');
  $('warnings').innerHTML = s.warnings.map((w) => '<li data-warning="' + esc(w.id) + '"' + (SEVERE.includes(w.id) ? ' class="severe"' : '') + '>' + esc(w.text) + '</li>').join('');
  stepper(s);
  actions(s);
  shadowReads(s);
  capture(s);
  throttle(s);
  $('workers').textContent = s.workersAlive === null ? '-' : String(s.workersAlive);
  $('routers').tBodies[0].innerHTML = s.routers.length
    ? s.routers.map((r) => '<tr><td>' + esc(r.routerId) + '</td><td>' + esc(r.service) + '</td><td>' + esc(r.host) + '</td><td>' + (r.ackedEpoch === null ? '-' : r.ackedEpoch) + (r.ackedEpoch === s.migration.epoch ? ' (current)' : '') + '</td><td>' + esc(r.fenceId || '-') + '</td></tr>').join('')
    : '<tr><td colspan="5">no router registered</td></tr>';
  $('backfill').tBodies[0].innerHTML = s.backfill.tables.map((t) =>
    '<tr data-unit="' + esc(t.table) + '" data-state="' + esc(t.state) + '"><td>' + esc(t.table) + '</td><td>' + esc(t.target) + '</td><td class="state' + (t.state === 'failed' ? ' dirty' : '') + '">' + esc(t.stateText) + '</td>' +
    '<td><div class="bar"><div style="width:' + t.percent.toFixed(1) + '%"></div></div> <span class="percent">' + t.percent.toFixed(1) + '%</span></td>' +
    '<td class="rows">' + fmt(t.rowsCopied) + ' / ' + fmt(t.rowsEstimate) + '</td><td class="rate">' + (t.rowsPerSecond > 0 ? fmt(t.rowsPerSecond) : '-') + '</td><td class="eta">' + esc(t.eta) + '</td><td>' + t.segmentsDone + '/' + t.segments + '</td></tr>').join('');
  chart(s.rates);
  $('verification').tBodies[0].innerHTML = s.verification.map((v) =>
    '<tr><td>' + v.id + '</td><td class="' + (v.clean === null ? '' : v.clean ? 'clean' : 'dirty') + '">' + (v.clean === null ? 'running' : v.clean ? 'clean' : 'differences remain') + '</td><td>' + fmt(v.rowsChecked) + '</td><td>' + fmt(v.rowsDiffering) + '</td><td>' + fmt(v.rowsRepaired) + '</td><td>' + v.passes + '</td></tr>').join('');
  $('events').innerHTML = s.timeline.map((e) =>
    '<li><span class="muted">' + esc(time(e.at)) + '</span> <span class="title ' + esc(e.tone) + '">' + esc(e.title) + '</span>' + (e.detail ? ' ' + esc(e.detail) : '') +
    ' <span class="muted">— ' + esc(e.actor) + (e.reason ? ': ' + esc(e.reason) : '') + '</span></li>').join('');
}

async function act(action) {
  const body = { from: shown ? shown.migration.phase : undefined };
  if (action === 'finalize') body.confirm = $('confirm').value;
  const res = await fetch('api/migrations/' + encodeURIComponent(selected) + '/' + action, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + $('token').value }, body: JSON.stringify(body) });
  const out = await res.json();
  $('message').textContent = res.ok ? 'now ' + out.phase : out.error;
  $('message').className = res.ok ? 'good' : 'bad';
  await refreshDetail();
}

// One refresh at a time: a slow answer (the checks can take seconds) delays the next, never piles them up.
async function tick() {
  try { await refreshList(); await refreshDetail(); } catch (e) { /* the next tick retries */ }
  setTimeout(tick, 1000);
}
tick();
</script>
</body>
</html>`;
