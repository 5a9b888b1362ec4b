// natsock's demo page: one socket.io client (the embedded socket.io-client
// bundle) per namespace the --map rules declare, every event shown as a
// toast and listed, a form that emits an --inbound event, the rules from
// /demo/config.json, and a chart fed by /demo/stats.json (the metrics'
// registry, summed). Untrusted text only ever goes in through textContent.
'use strict';

(async function main() {
  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };

  const config = await (await fetch('/demo/config.json', { cache: 'no-store' })).json();
  $('version').textContent = config.version;
  $('metrics-link').textContent = config.metrics;
  $('metrics-link').href = config.metrics;

  // The rules in use.
  for (const m of config.maps) {
    const tr = $('maps').tBodies[0].insertRow();
    const to = m.room ? `room ${m.room} of ${m.namespace}` : `every socket of ${m.namespace}`;
    [m.subject, '→', m.event, to].forEach((t) => { tr.insertCell().textContent = t; });
  }
  for (const r of config.inbound) {
    const tr = $('inbound').tBodies[0].insertRow();
    [r.event, '→', r.subject, r.restricted ? 'claims required' : ''].forEach((t) => { tr.insertCell().textContent = t; });
  }
  if (config.inbound.length === 0) {
    $('emit-form').hidden = true;
    $('emit-result').textContent = 'No --inbound rule: clients cannot publish to NATS. Add one, e.g. --inbound taskAssigned=tasks.assigned.';
  }
  for (const r of config.inbound) {
    const o = el('option', '', r.event);
    o.value = r.event;
    if (r.event === 'taskAssigned') o.selected = true;
    $('emit-event').append(o);
  }
  const literal = config.maps.find((m) => !m.subject.includes('*') && !m.subject.includes('>'));
  if (literal) {
    $('publish-hint').textContent = `natsock publish ${literal.subject} '{"taskName":"Write the report"}'`;
  }

  // The sockets: "/" and every namespace a rule names. A token in the
  // page's URL (?token=...) goes in the CONNECT auth payload.
  const token = new URLSearchParams(location.search).get('token');
  const opts = { path: config.socketio_path.replace(/\/$/, ''), auth: token ? { token } : {} };
  const namespaces = [...new Set(['/', ...config.maps.map((m) => m.namespace)])];
  const sockets = {};
  for (const ns of namespaces) {
    const s = io(ns === '/' ? '/' : ns, opts);
    sockets[ns] = s;
    s.onAny((event, ...args) => notify(ns, event, args));
  }
  const root = sockets['/'];

  function setStatus(state, text) {
    const st = $('status');
    st.className = 'pill ' + state;
    st.dataset.state = state;
    st.textContent = text;
  }
  function connected() {
    const transport = root.io.engine ? root.io.engine.transport.name : '';
    setStatus('connected', `connected · ${transport} · ${root.id}`);
  }
  root.on('connect', () => {
    connected();
    root.io.engine.once('upgrade', connected);
  });
  root.on('disconnect', (reason) => setStatus('disconnected', `disconnected: ${reason}`));
  root.on('connect_error', (err) => {
    const code = err.data && err.data.code ? ` (${err.data.code})` : '';
    setStatus('disconnected', `refused: ${err.message}${code}`);
  });

  // Notifications: a toast for a few seconds, and the list.
  function describe(args) {
    if (args.length === 0) return '(no data)';
    const a = args[0];
    if (a && typeof a === 'object' && typeof a.taskName === 'string') {
      return a.taskName + (a.assignee ? ` → ${a.assignee}` : '');
    }
    const text = typeof a === 'string' ? a : JSON.stringify(a);
    return text.length > 200 ? text.slice(0, 200) + '…' : text;
  }
  function notify(ns, event, args) {
    const label = ns === '/' ? event : `${ns} ${event}`;
    const text = describe(args);
    const li = el('li');
    li.append(el('span', 'event', label), el('time', '', new Date().toLocaleTimeString()), el('div', 'text', text));
    $('notifications').prepend(li);
    while ($('notifications').children.length > 100) $('notifications').lastChild.remove();
    const toast = el('div', 'toast');
    toast.append(el('span', 'event', label), el('span', 'text', text));
    $('toasts').append(toast);
    setTimeout(() => toast.remove(), 6000);
  }

  // The form emits the chosen --inbound event, as the guide's page does.
  $('emit-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const event = $('emit-event').value;
    const rule = config.inbound.find((r) => r.event === event);
    const data = { taskName: $('task-name').value, assignee: $('assignee').value };
    root.emit(event, data);
    $('emit-result').textContent = `emitted ${event} ${JSON.stringify(data)}: natsock publishes it to ${rule ? rule.subject : '?'}`;
  });

  // The chart: rates from the metrics' counters, polled every second.
  const points = [];
  let last = null;
  async function poll() {
    try {
      const s = await (await fetch('/demo/stats.json', { cache: 'no-store' })).json();
      if (last && s.time > last.time) {
        const dt = (s.time - last.time) / 1000;
        points.push({
          out: Math.max(0, (s.natsock_map_deliveries_total - last.natsock_map_deliveries_total) / dt),
          nats: Math.max(0, (s.natsock_map_messages_total - last.natsock_map_messages_total) / dt),
          sockets: s.natsock_sockets,
        });
        if (points.length > 60) points.shift();
        draw();
      }
      last = s;
    } catch (err) {
      $('chart-now').textContent = `stats unavailable: ${err}`;
    }
  }
  function draw() {
    const c = $('chart');
    const ctx = c.getContext('2d');
    const w = c.width, h = c.height, pad = 24;
    ctx.clearRect(0, 0, w, h);
    const rateMax = Math.max(1, ...points.map((p) => Math.max(p.out, p.nats)));
    const sockMax = Math.max(1, ...points.map((p) => p.sockets));
    ctx.strokeStyle = '#eef0f4';
    ctx.fillStyle = '#98a2b3';
    ctx.font = '11px system-ui, sans-serif';
    for (let i = 0; i <= 4; i++) {
      const y = pad + (h - 2 * pad) * i / 4;
      ctx.beginPath(); ctx.moveTo(pad, y); ctx.lineTo(w - pad, y); ctx.stroke();
    }
    ctx.fillText(`${rateMax.toFixed(rateMax < 10 ? 1 : 0)}/s`, 2, pad - 6);
    ctx.fillText(`${sockMax} sockets`, w - 70, pad - 6);
    const line = (key, max, color) => {
      ctx.strokeStyle = color; ctx.lineWidth = 2; ctx.beginPath();
      points.forEach((p, i) => {
        const x = pad + (w - 2 * pad) * (points.length === 1 ? 1 : i / (points.length - 1));
        const y = h - pad - (h - 2 * pad) * (p[key] / max);
        if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      });
      ctx.stroke();
    };
    line('out', rateMax, '#2e90fa');
    line('nats', rateMax, '#7a5af8');
    line('sockets', sockMax, '#12b76a');
    const p = points[points.length - 1];
    c.dataset.points = String(points.length);
    c.dataset.sockets = String(p.sockets);
    $('chart-now').textContent = ` · now ${p.out.toFixed(1)} events/s, ${p.sockets} sockets`;
  }
  poll();
  setInterval(poll, 1000);
})().catch((err) => {
  const st = document.getElementById('status');
  st.className = 'pill disconnected';
  st.dataset.state = 'error';
  st.textContent = `demo failed: ${err}`;
});
