// The Akka.EventDriven operations console: plain ES module, no build step, no third-party code.
// Every number comes from the node's API: the /live feed (server-sent events read with fetch, so the API key goes in
// a header and never in a URL) and the REST endpoints. A field the node does not serve yet shows "n/a".

const API = document.querySelector('meta[name="eventdriven-api"]').content.replace(/\/$/, '');
const OPENAPI = document.querySelector('meta[name="eventdriven-openapi"]').content;
const KEY_STORE = 'eventdriven.apiKey';
const HISTORY = 300; // sparkline points: five minutes of one-second snapshots

const state = {
  key: sessionStorage.getItem(KEY_STORE),
  role: null,
  tags: '',
  stream: null,
  series: {},
  last: null,
  snapshot: null,
  topicRates: {},
  polls: [],
};

// ---- helpers ----------------------------------------------------------------------------------------------------

const $ = (sel) => document.querySelector(sel);
const h = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const na = '<span class="na">n/a</span>';
const num = (v) => (typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: 1 }) : na);
const time = (t) => (t ? new Date(t).toISOString().replace('T', ' ').replace('Z', '') : na);
const isAdmin = () => state.role === 'Admin';

function set(el, html) {
  if (typeof el === 'string') el = $(el);
  if (el && el.dataset.html !== html) { el.innerHTML = html; el.dataset.html = html; }
}

class AuthError extends Error {}

async function api(path, options = {}) {
  const headers = { Accept: 'application/json', ...(options.headers || {}) };
  if (state.key) headers['X-Api-Key'] = state.key;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(API + path, { ...options, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  if (response.status === 401) { lock('The key was refused.'); throw new AuthError('401'); }
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = text; }
  return { ok: response.ok, status: response.status, body };
}

function sparkline(points, unit, title, id) {
  const values = points.length ? points : [0];
  const max = Math.max(...values, 1);
  const w = 240, hgt = 48;
  const step = values.length > 1 ? w / (values.length - 1) : w;
  const line = values.map((v, i) => `${(i * step).toFixed(1)},${(hgt - 2 - (v / max) * (hgt - 4)).toFixed(1)}`).join(' ');
  const current = values[values.length - 1];
  return `<div class="chart" id="${h(id)}" data-max="${Math.max(...values)}"><div class="t"><span>${h(title)}</span><span class="cur">${num(current)} ${h(unit)}</span></div>
    <svg class="spark" viewBox="0 0 ${w} ${hgt}" preserveAspectRatio="none" role="img" aria-label="${h(title)} in ${h(unit)}, max ${num(max)}">
    <polyline points="${line}"/></svg><div class="t"><span>last ${Math.round(values.length)} s</span><span>max ${num(max)} ${h(unit)}</span></div></div>`;
}

function push(name, value) {
  const s = (state.series[name] ||= []);
  s.push(value);
  if (s.length > HISTORY) s.shift();
  return s;
}

function table(rows, columns) {
  if (!rows || rows.length === 0) return '<p class="na">none</p>';
  return `<div class="scroll"><table><thead><tr>${columns.map((c) => `<th class="${c.num ? 'num' : ''}">${h(c.title)}</th>`).join('')}</tr></thead>
    <tbody>${rows.map((r) => `<tr ${r.__attrs || ''}>${columns.map((c) => `<td class="${c.num ? 'num' : ''}">${c.render ? c.render(r) : h(r[c.key])}</td>`).join('')}</tr>`).join('')}</tbody></table></div>`;
}

// A list whose shape this page does not know yet (topics, queues, pipelines from a newer node): every scalar field.
function genericTable(rows) {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r).filter((k) => r[k] === null || typeof r[k] !== 'object')))];
  return table(rows, keys.map((k) => ({ title: k, key: k, num: rows.some((r) => typeof r[k] === 'number'), render: (r) => (typeof r[k] === 'number' ? num(r[k]) : h(r[k] ?? '')) })));
}

function confirmDialog(text) {
  const dialog = $('#confirm-dialog');
  $('#confirm-text').textContent = text;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.returnValue = '';
    dialog.showModal();
  });
}

// ---- auth ---------------------------------------------------------------------------------------------------------

function lock(message) {
  stop();
  state.role = null;
  $('#main').hidden = true;
  $('#locked').hidden = false;
  $('#role').textContent = 'no key';
  $('#key-error').textContent = message || '';
  const dialog = $('#key-dialog');
  if (!dialog.open) dialog.showModal();
}

async function connect() {
  let who;
  try { who = await api('/whoami'); } catch (e) { if (e instanceof AuthError) return; throw e; }
  if (!who.ok) { lock(`The node answered ${who.status}.`); return; }
  state.role = who.body.role;
  $('#role').textContent = who.body.keyRequired ? `${state.role.toLowerCase()} key` : 'development (no key)';
  $('#change-key').hidden = !who.body.keyRequired;
  $('#locked').hidden = true;
  $('#main').hidden = false;
  document.body.classList.toggle('admin', isAdmin());
  await discover();
  start();
}

$('#key-form').addEventListener('submit', (e) => {
  const key = $('#key-input').value.trim();
  if (!key) { e.preventDefault(); return; }
  state.key = key;
  sessionStorage.setItem(KEY_STORE, key);
  $('#key-input').value = '';
  connect();
});
$('#change-key').addEventListener('click', () => lock(''));

// Which endpoints this node serves (from its OpenAPI document), so the page never calls one it lacks: a node of an
// older or newer version shows "n/a" for what it does not have.
async function discover() {
  state.paths = null;
  try {
    const headers = { Accept: 'application/json' };
    if (state.key) headers['X-Api-Key'] = state.key;
    const r = await fetch(OPENAPI, { headers });
    if (r.ok) state.paths = new Set(Object.keys((await r.json()).paths || {}));
  } catch (e) { report(e); }
}

const serves = (path) => state.paths?.has(API + path) ?? false;

// ---- live feed ----------------------------------------------------------------------------------------------------

function stop() {
  state.stream?.abort();
  state.stream = null;
  state.polls.forEach(clearInterval);
  state.polls = [];
  setFeed(false);
}

function start() {
  stop();
  follow();
  const every = (ms, f) => { f(); state.polls.push(setInterval(f, ms)); };
  every(3000, () => pollCluster().catch(report));
  every(3000, () => pollTopics().catch(report));
  every(2000, () => pollDeadLetters().catch(report));
  every(3000, () => pollSagas().catch(report));
  every(3000, () => pollPipelines().catch(report));
}

function report(e) { if (!(e instanceof AuthError)) console.warn('console:', e.message || e); }

function setFeed(on, text) {
  const f = $('#feed');
  f.className = `badge ${on ? 'on' : 'off'}`;
  f.textContent = text || (on ? 'live' : 'offline');
}

async function follow() {
  const controller = new AbortController();
  state.stream = controller;
  const headers = { Accept: 'text/event-stream' };
  if (state.key) headers['X-Api-Key'] = state.key;
  const query = state.tags ? `?tags=${encodeURIComponent(state.tags)}` : '';
  try {
    const response = await fetch(`${API}/live${query}`, { headers, signal: controller.signal });
    if (response.status === 401) { lock('The key was refused.'); return; }
    if (!response.ok) throw new Error(`live feed: ${response.status}`);
    setFeed(true);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let name = 'message', data = '';
        for (const line of frame.split('\n')) {
          if (line.startsWith('event:')) name = line.slice(6).trim();
          else if (line.startsWith('data:')) data += line.slice(5).trim();
        }
        if (data) onFrame(name, JSON.parse(data));
      }
    }
  } catch (e) {
    if (controller.signal.aborted) return;
    report(e);
  }
  if (state.stream !== controller) return;
  setFeed(false, 'reconnecting');
  setTimeout(() => { if (state.stream === controller) follow(); }, 2000);
}

function onFrame(name, data) {
  if (name === 'snapshot') onSnapshot(data);
  else if (name === 'event') onLiveEvent(data);
  else if (name === 'dropped') setFeed(true, `live (${data.dropped} frames dropped: slow reader)`);
}

// ---- panels -------------------------------------------------------------------------------------------------------

function onSnapshot(s) {
  const prev = state.last;
  state.last = s;
  state.snapshot = s;
  $('#node').textContent = s.node;
  const dt = prev ? (new Date(s.at) - new Date(prev.at)) / 1000 : 0;
  const rate = (f) => (prev && dt > 0 ? Math.max(0, (f(s) - f(prev)) / dt) : 0);
  const pub = push('published', rate((x) => x.bus.published));
  const del = push('delivered', rate((x) => x.bus.delivered));
  const dl = push('deadLettered', rate((x) => x.bus.deadLettered));
  const ev = push('journal', rate((x) => x.journal.highestOrdering ?? 0));
  const b = s.bus;
  set('#bus-tiles', [
    ['published', b.published, pub], ['delivered', b.delivered, del], ['dead-lettered', b.deadLettered, dl],
    ['retries', b.retries], ['dropped (full buffer)', b.dropped], ['redeliveries', b.redeliveries],
    ['subscriptions', b.subscriptions], ['lag (messages)', b.lag],
  ].map(([l, v, r], i) => `<div class="tile" id="bus-tile-${i}"><div class="v" data-metric="${h(l)}">${num(v)}</div><div class="l">${h(l)}</div>${r ? `<div class="r">${num(r[r.length - 1])} msg/s</div>` : ''}</div>`).join(''));
  set('#bus-charts', sparkline(pub, 'msg/s', 'published', 'chart-published') + sparkline(del, 'msg/s', 'delivered', 'chart-delivered')
    + sparkline(dl, 'msg/s', 'dead-lettered', 'chart-dead-lettered') + sparkline(ev, 'events/s', 'journal appends', 'chart-journal'));
  const depth = Object.entries(b.depth || {}).map(([consumer, d]) => ({ consumer, depth: d }));
  set('#bus-depth', table(depth, [{ title: 'consumer (queue or topic#partition/group)', key: 'consumer' }, { title: 'depth (messages)', key: 'depth', num: true, render: (r) => num(r.depth) }]));
  renderProjections(s.projections || []);
  renderSagaCounts(s.sagas);
  renderDeadLetterQueues(s.deadLetters);
}

async function pollCluster() {
  const r = await api('/cluster');
  if (!r.ok) { set('#cluster .body', `<p class="error">${h(r.body?.detail || r.status)}</p>`); return; }
  const c = r.body;
  set('#cluster .body', `<p>leader <b>${h(c.leader || 'none')}</b> · ${c.members.length} member(s)</p>` + table(c.members, [
    { title: 'address', render: (m) => `${h(m.address)}${m.address === c.self ? ' <span class="kind">self</span>' : ''}${m.address === c.leader ? ' <span class="kind">leader</span>' : ''}` },
    { title: 'roles', render: (m) => h((m.roles || []).join(', ')) },
    { title: 'status', render: (m) => `<span class="state-${h(m.status)}">${h(m.status)}</span>` },
    { title: 'reachable', render: (m) => (m.reachable ? '<span class="ok">yes</span>' : '<span class="error">no</span>') },
    { title: 'shards / entities', render: (m) => (m.shards ? Object.entries(m.shards).map(([a, v]) => `${h(a)}: ${num(v.shards)} / ${num(v.entities)}`).join('<br>') : na) },
  ]));
}

async function pollTopics() {
  const [topics, queues] = await Promise.all([api('/topics'), api('/queues')]);
  const rows = [];
  for (const [kind, r, field] of [['topic', topics, 'topics'], ['queue', queues, 'queues']]) {
    const list = r.ok && r.body && Array.isArray(r.body[field]) ? r.body[field] : null;
    if (list) list.forEach((t) => rows.push({ kind, ...t }));
  }
  if (rows.length === 0) {
    set('#bus-topics', `<p class="na">n/a — this node's API does not list topics and queues by name yet (node totals above).</p>`);
    return;
  }
  // A sparkline per topic: its published count's rate between polls when the node gives no rate of its own.
  const now = Date.now();
  for (const t of rows) {
    const id = `${t.kind}:${t.name ?? t.topic ?? t.queue}`;
    const count = t.published ?? t.messagesPublished ?? t.count;
    const prev = state.topicRates[id];
    if (typeof count === 'number') {
      const r = prev ? Math.max(0, (count - prev.count) / ((now - prev.at) / 1000)) : 0;
      const s = (prev?.series || []).concat([r]).slice(-100);
      state.topicRates[id] = { count, at: now, series: s };
      t.__spark = s;
    }
  }
  const scalar = rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k, v]) => !k.startsWith('__') && (v === null || typeof v !== 'object'))));
  set('#bus-topics', genericTable(scalar) + `<div class="charts">${rows.filter((r) => r.__spark).map((r) =>
    sparkline(r.__spark, 'msg/s', `${r.kind} ${r.name ?? r.topic ?? r.queue}`, `chart-${r.kind}-${r.name ?? r.topic ?? r.queue}`)).join('')}</div>`);
}

function renderDeadLetterQueues(counts) {
  state.deadLetterCounts = counts;
}

async function pollDeadLetters() {
  const counts = state.deadLetterCounts;
  if (counts === undefined) return; // no snapshot yet
  if (counts === null) { set('#dead-letters .body', na); return; }
  const queues = Object.keys(counts).filter((q) => counts[q] > 0).sort();
  if (queues.length === 0) { set('#dead-letters .body', '<p class="ok" data-empty="true">No dead letters.</p>'); return; }
  const parts = [];
  for (const queue of queues.slice(0, 10)) {
    const r = await api(`/dead-letters/${encodeURIComponent(queue)}?limit=20`);
    const letters = r.ok ? r.body.letters : [];
    const admin = isAdmin()
      ? `<span class="actions"><button data-action="replay-all" data-queue="${h(queue)}">Replay all</button><button class="danger" data-action="purge" data-queue="${h(queue)}">Purge</button></span>`
      : '';
    parts.push(`<div class="dlq" data-queue="${h(queue)}"><h3>${h(queue)} · <span class="count">${num(r.ok ? r.body.count : counts[queue])}</span> letter(s) ${admin}</h3>` + table(letters, [
      { title: 'id', key: 'id', num: true },
      { title: 'reason', render: (l) => `<span class="error">${h(l.reason)}</span>` },
      { title: 'attempts', key: 'attempts', num: true },
      { title: 'original topic', render: (l) => h(l.originalTopic) },
      { title: 'type', key: 'type' },
      { title: 'payload', render: (l) => `<pre class="payload">${h(JSON.stringify(l.payload))}</pre>` },
      { title: 'dead-lettered', render: (l) => time(l.deadLetteredAt) },
      ...(isAdmin() ? [{ title: '', render: (l) => `<button data-action="replay" data-queue="${h(queue)}" data-id="${h(l.id)}">Replay</button>` }] : []),
    ]) + '</div>');
  }
  set('#dead-letters .body', parts.join(''));
}

$('#dead-letters').addEventListener('click', async (e) => {
  const b = e.target.closest('button[data-action]');
  if (!b || !isAdmin()) return;
  const q = encodeURIComponent(b.dataset.queue);
  const [text, call] = {
    replay: [`Replay dead letter ${b.dataset.id} of '${b.dataset.queue}'?`, () => api(`/dead-letters/${q}/${b.dataset.id}/replay`, { method: 'POST' })],
    'replay-all': [`Replay every dead letter of '${b.dataset.queue}'?`, () => api(`/dead-letters/${q}/replay-all`, { method: 'POST' })],
    purge: [`Purge every dead letter of '${b.dataset.queue}'? They cannot be replayed afterwards.`, () => api(`/dead-letters/${q}`, { method: 'DELETE' })],
  }[b.dataset.action];
  if (!(await confirmDialog(text))) return;
  const r = await call();
  if (!r.ok) alertError(r);
  pollDeadLetters().catch(report);
});

function alertError(r) {
  console.warn('console: action failed', r.status, r.body);
  setFeed(true, `action failed: ${r.body?.detail || r.status}`);
}

function renderProjections(list) {
  for (const p of list) push(`lag:${p.name}/${p.key}`, p.eventsBehind ?? 0);
  set('#projections .body', table(list.map((p) => ({ ...p, __attrs: `data-projection="${h(p.name)}/${h(p.key)}"` })), [
    { title: 'projection', render: (p) => `${h(p.name)}/${h(p.key)}` },
    { title: 'state', render: (p) => `<span class="state state-${h(p.state)}">${h(p.state)}</span>${rebuildProgress(p)}` },
    { title: 'offset', num: true, render: (p) => `${num(p.offset)} / ${num(p.journalOffset)}` },
    { title: 'lag (events)', num: true, render: (p) => num(p.eventsBehind) },
    { title: 'lag (s)', num: true, render: (p) => num(p.secondsBehind) },
    { title: 'lag, last 5 min (events)', render: (p) => sparkline(state.series[`lag:${p.name}/${p.key}`], 'events', 'behind', `lag-${p.name}-${p.key}`) },
    { title: 'last error', render: (p) => (p.lastError ? `<span class="error">${h(p.lastError)}</span>` : '') },
    ...(isAdmin() ? [{ title: '', render: (p) => `<span class="actions">${p.state === 'Paused'
      ? `<button data-action="resume" data-name="${h(p.name)}" data-key="${h(p.key)}">Resume</button>`
      : `<button data-action="pause" data-name="${h(p.name)}" data-key="${h(p.key)}">Pause</button>`}${p.canRebuild
      ? `<button class="danger" data-action="rebuild" data-name="${h(p.name)}" data-key="${h(p.key)}">Rebuild</button>` : ''}</span>` }] : []),
  ]));
}

// A rebuild's progress: events replayed of those in the journal when it started (the API's offset and rebuildTarget).
function rebuildProgress(p) {
  if (typeof p.rebuildTarget !== 'number' || p.rebuildTarget <= 0) return '';
  const done = Math.max(0, p.offset);
  const percent = typeof p.rebuildPercent === 'number' ? p.rebuildPercent : Math.min(100, Math.floor((100 * done) / p.rebuildTarget));
  return `<div class="rebuild" data-offset="${done}" data-target="${p.rebuildTarget}" data-percent="${percent}">
    <progress max="100" value="${percent}" aria-label="rebuild progress in per cent"></progress> <span class="pct">${percent} %</span>
    <span class="na">offset ${num(done)} of ${num(p.rebuildTarget)}</span></div>`;
}

$('#projections').addEventListener('click', async (e) => {
  const b = e.target.closest('button[data-action]');
  if (!b || !isAdmin()) return;
  const { action, name, key } = b.dataset;
  if (action === 'rebuild' && !(await confirmDialog(`Rebuild ${name}/${key}? Its read model is cleared and rebuilt from the first event.`))) return;
  b.disabled = true;
  const r = await api(`/projections/${encodeURIComponent(name)}/${encodeURIComponent(key)}/${action}`, { method: 'POST' });
  if (!r.ok) alertError(r);
  else if (state.snapshot) {
    // Show the answer at once; the next snapshot confirms it.
    state.snapshot.projections = state.snapshot.projections.map((p) => (p.name === name && p.key === key ? r.body : p));
    renderProjections(state.snapshot.projections);
  }
});

function renderSagaCounts(counts) {
  const el = $('#sagas .body');
  const names = ['Running', 'Completed', 'Compensating', 'Compensated', 'Failed'];
  const tiles = `<div class="tiles" id="saga-counts">${names.map((n) => `<div class="tile"><div class="v" data-state="${n}">${counts ? num(counts[n] ?? 0) : na}</div><div class="l">${n.toLowerCase()}</div></div>`).join('')}</div>`;
  let tilesEl = el.querySelector('#saga-counts-wrap');
  if (!tilesEl) { el.innerHTML = `<div id="saga-counts-wrap"></div><div id="saga-table"></div>`; tilesEl = el.querySelector('#saga-counts-wrap'); }
  set(tilesEl, tiles);
}

async function pollSagas() {
  if (!$('#saga-table')) return;
  const [running, failed] = await Promise.all([api('/console/sagas?state=Running&limit=20'), api('/console/sagas?state=Failed&limit=20')]);
  if (!running.ok || running.body.indexed === false) { set('#saga-table', `<p class="na">n/a — the console index (WithConsoleIndex) does not run on this cluster.</p>`); return; }
  const rows = [...running.body.sagas, ...(failed.ok ? failed.body.sagas : [])];
  set('#saga-table', `<h3>Running and failed</h3>` + table(rows.map((s) => ({ ...s, __attrs: `class="clickable" data-saga="${h(s.sagaId)}"` })), [
    { title: 'saga', render: (s) => `${h(s.sagaName)} <span class="kind">${h(s.sagaId)}</span>` },
    { title: 'state', render: (s) => `<span class="state-${h(s.state)}">${h(s.state)}</span>` },
    { title: 'step', key: 'step' },
    { title: 'last error', render: (s) => (s.lastError ? `<span class="error">${h(s.lastError)}</span>` : '') },
    { title: 'updated', render: (s) => time(s.updatedAt) },
  ]));
}

$('#sagas').addEventListener('click', async (e) => {
  const row = e.target.closest('tr[data-saga]');
  if (!row) return;
  const r = await api(`/sagas/${encodeURIComponent(row.dataset.saga)}`);
  if (!r.ok) { set('#saga-history', `<p class="error">${h(r.body?.detail || r.status)}</p>`); return; }
  const s = r.body;
  set('#saga-history', `<h3>${h(s.sagaName)} ${h(s.sagaId)}: ${h(s.state)}${s.currentStep ? ` at ${h(s.currentStep)}` : ''}</h3>` + table(s.history, [
    { title: 'step', render: (a) => `${h(a.step)}${a.compensation ? ' (compensation)' : ''}` },
    { title: 'attempt', key: 'attempt', num: true },
    { title: 'result', render: (a) => (a.succeeded ? '<span class="ok">ok</span>' : `<span class="error">${h(a.error)}${a.timedOut ? ' (timed out)' : ''}</span>`) },
    { title: 'at', render: (a) => time(a.at) },
  ]));
});

async function pollPipelines() {
  const unserved = `<p class="na">n/a — this node's API does not report pipelines yet.</p>`;
  if (!serves('/pipelines')) { set('#pipelines .body', unserved); return; }
  const r = await api('/pipelines');
  const list = r.ok && r.body && Array.isArray(r.body.pipelines) ? r.body.pipelines : null;
  if (!list) { set('#pipelines .body', unserved); return; }
  const over = `last ${num(r.body.rateWindowSeconds ?? 10)} s`;
  const rows = list.map((p) => ({ ...p, __attrs: `data-pipeline="${h(p.name)}"` }));
  set('#pipelines .body', table(rows, [
    { title: 'pipeline', render: (p) => h(p.name) },
    { title: 'status', render: (p) => `<span class="status state-${h(p.status)}">${h(p.status)}</span>` },
    { title: `in (elements/s, ${over})`, num: true, render: (p) => `<span class="in-rate">${num(p.inPerSecond)}</span>` },
    { title: `out (elements/s, ${over})`, num: true, render: (p) => `<span class="out-rate">${num(p.outPerSecond)}</span>` },
    { title: 'elements in', num: true, render: (p) => `<span class="in">${num(p.elementsIn)}</span>` },
    { title: 'elements out', num: true, render: (p) => `<span class="out">${num(p.elementsOut)}</span>` },
    { title: 'errors', num: true, render: (p) => `<span class="errors${p.errors > 0 ? ' error' : ''}">${num(p.errors)}</span>` },
    { title: 'restarts', num: true, render: (p) => num(p.restarts) },
    { title: 'last error', render: (p) => (p.lastError ? `<span class="error">${h(p.lastError)}</span>` : '') },
  ]) + list.filter((p) => p.window).map(windowChart).join(''));
}

const seconds = (s) => (s >= 3600 && s % 3600 === 0 ? `${s / 3600} h` : s >= 60 && s % 60 === 0 ? `${s / 60} min` : `${num(s)} s`);
const clock = (t) => new Date(t).toISOString().slice(11, 19);

// The latest closed windows of a windowed pipeline as bars, oldest on the left; a new bar appears as each window closes.
function windowChart(p) {
  const w = p.window;
  const shape = w.kind === 'Sliding' ? `${seconds(w.sizeSeconds)} every ${seconds(w.slideSeconds)}`
    : w.kind === 'Session' ? `sessions (gap ${seconds(w.sizeSeconds)})` : seconds(w.sizeSeconds);
  const unit = w.unit || 'value';
  const perWindow = w.kind === 'Session' ? `${unit} per session` : `${unit} per ${shape} window`;
  const windows = p.windows || [];
  const value = (x) => (typeof x.value === 'number' ? x.value : x.count);
  const head = `<div class="t"><span>${h(p.name)}: closed ${h(w.kind.toLowerCase())} windows (${h(perWindow)})</span>`;
  if (windows.length === 0) {
    return `<div class="chart windows" data-pipeline="${h(p.name)}" data-bars="0">${head}</div><p class="na">no window closed yet</p></div>`;
  }
  const max = Math.max(...windows.map(value), 0);
  const top = max > 0 ? max : 1;
  const slots = Math.max(windows.length, 20); // bars keep a sensible width while the first windows close
  const bw = 300 / slots;
  const bars = windows.map((x, i) => {
    const v = value(x), bh = (v / top) * 76;
    const label = `${clock(x.start)}–${clock(x.end)} UTC${x.key ? ` · ${x.key}` : ''}: ${num(v)} ${unit} (${num(x.count)} elements)`;
    return `<rect data-start="${h(x.start)}" data-value="${v}" x="${(i * bw + 0.5).toFixed(2)}" y="${(78 - bh).toFixed(2)}" width="${Math.max(0.5, bw - 1).toFixed(2)}" height="${bh.toFixed(2)}"><title>${h(label)}</title></rect>`;
  }).join('');
  const last = windows[windows.length - 1];
  return `<div class="chart windows" data-pipeline="${h(p.name)}" data-bars="${windows.length}" data-latest="${h(last.start)}">${head}
    <span class="cur">latest ${num(value(last))} ${h(unit)}</span></div>
    <div class="t"><span class="axis">max ${num(max)} ${h(unit)}</span></div>
    <svg class="bars" viewBox="0 0 300 80" preserveAspectRatio="none" role="img" aria-label="${h(p.name)}: ${windows.length} closed windows in ${h(perWindow)}, max ${num(max)}">
    <line class="base" x1="0" y1="79.5" x2="300" y2="79.5"/>${bars}</svg>
    <div class="t"><span>${h(clock(windows[0].start))} UTC</span><span>window start</span><span>${h(clock(last.start))} UTC</span></div></div>`;
}

// ---- event store browser ------------------------------------------------------------------------------------------

let currentAggregate = null;

$('#aggregate-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const name = $('#aggregate-name').value.trim(), id = $('#aggregate-id').value.trim();
  const r = await api(`/aggregates/${encodeURIComponent(name)}/${encodeURIComponent(id)}/history?limit=1000`);
  if (!r.ok) { set('#history', `<p class="error">${h(r.body?.detail || r.status)}</p>`); $('#state-at').hidden = true; return; }
  currentAggregate = { name, id };
  const events = r.body.events;
  set('#history', `<h3>${h(name)} ${h(id)}: ${events.length} event(s)</h3>` + table(events, [
    { title: 'seq', key: 'sequenceNr', num: true },
    { title: 'type', key: 'type' },
    { title: 'time', render: (ev) => time(ev.timestamp) },
    { title: 'correlation', render: (ev) => (ev.correlationId ? `<button class="link" data-trace="${h(ev.correlationId)}">${h(ev.correlationId)}</button>` : '') },
    { title: 'causation', render: (ev) => h(ev.causationId) },
    { title: 'payload', render: (ev) => `<pre>${h(JSON.stringify(ev.data, null, 1))}</pre>` },
  ]));
  const slider = $('#version');
  slider.max = String(Math.max(1, events.length ? events[events.length - 1].sequenceNr : 1));
  slider.value = slider.max;
  $('#state-at').hidden = events.length === 0;
  if (events.length) showStateAt(Number(slider.value));
});

async function showStateAt(version) {
  $('#version-out').textContent = String(version);
  const { name, id } = currentAggregate;
  const r = await api(`/aggregates/${encodeURIComponent(name)}/${encodeURIComponent(id)}/state?version=${version}`);
  if (Number($('#version').value) !== version) return; // the slider moved on meanwhile
  $('#state-json').textContent = r.ok ? JSON.stringify(r.body.state, null, 2) : (r.body?.detail || String(r.status));
  $('#state-json').dataset.version = String(r.ok ? r.body.version : '');
}

$('#version').addEventListener('input', (e) => showStateAt(Number(e.target.value)));
$('#history').addEventListener('click', (e) => {
  const b = e.target.closest('[data-trace]');
  if (b) { $('#trace-id').value = b.dataset.trace; trace(b.dataset.trace); }
});
$('#trace-form').addEventListener('submit', (e) => { e.preventDefault(); trace($('#trace-id').value.trim()); });

async function trace(id) {
  const r = await api(`/trace/${encodeURIComponent(id)}?limit=500`);
  if (!r.ok) { set('#trace', `<p class="error">${h(r.body?.detail || r.status)}</p>`); return; }
  const items = r.body.items;
  set('#trace', `<h3>Trace of ${h(id)}: ${items.length} item(s)${r.body.indexed ? '' : ' <span class="na">(console index not running: dead letters only)</span>'}</h3>` + table(items, [
    { title: 'time', render: (i) => time(i.timestamp) },
    { title: 'kind', render: (i) => `<span class="kind kind-${h(i.kind)}">${h(i.kind)}</span>` },
    { title: 'where', render: (i) => h(i.kind === 'saga' ? `saga ${i.sagaId}` : i.kind === 'dead-letter' ? `dead letter ${i.deadLetterId} in ${i.queue}` : `${i.aggregate} ${i.aggregateId}`) },
    { title: 'seq', num: true, render: (i) => num(i.sequenceNr) },
    { title: 'type', key: 'type' },
    { title: 'data', render: (i) => `<pre>${h(JSON.stringify(i.data, null, 1))}</pre>` },
  ]) + (r.body.next ? '<p class="na">more items follow (paged)</p>' : ''));
}

// ---- live events by tag --------------------------------------------------------------------------------------------

const liveEvents = [];
$('#tags-form').addEventListener('submit', (e) => {
  e.preventDefault();
  state.tags = $('#live-tags').value.trim();
  liveEvents.length = 0;
  set('#live-events', state.tags ? '<p class="na">waiting for events…</p>' : '');
  state.stream?.abort();
  state.stream = null;
  follow();
});

function onLiveEvent(ev) {
  liveEvents.unshift(ev);
  if (liveEvents.length > 50) liveEvents.pop();
  set('#live-events', table(liveEvents, [
    { title: 'ordering', key: 'ordering', num: true },
    { title: 'tag', key: 'tag' },
    { title: 'stream', key: 'persistenceId' },
    { title: 'seq', key: 'sequenceNr', num: true },
    { title: 'type', key: 'type' },
    { title: 'time', render: (x) => time(x.timestamp) },
    { title: 'data', render: (x) => `<pre>${h(JSON.stringify(x.data))}</pre>` },
  ]));
}

connect().catch(report);
