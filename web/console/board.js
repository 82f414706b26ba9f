// Supervisor board: polls GET /api/v1/console/board every 2 s while visible and renders queues,
// operators, percentile bars and the open dialogs with their routing decisions.
// Every server-provided string is set with textContent.

const POLL_MS = 2000;

export function createBoard({ api, fmtDuration, el, rate, onUnauthorized, onForbidden, onData }) {
  let timer = null;
  let running = false;
  let inFlight = false;
  let lastOk = 0;
  const $ = (id) => document.getElementById(id);

  async function poll() {
    if (!running || inFlight) return;
    if (document.hidden) { timer = setTimeout(poll, POLL_MS); return; } // no polling in a background tab
    inFlight = true;
    try {
      const data = await api('/api/v1/console/board');
      lastOk = Date.now();
      $('board-error').hidden = true;
      render(data);
      if (onData) onData(data);
    } catch (e) {
      if (e.status === 401) { stop(); onUnauthorized(e.message); return; }
      if (e.status === 403) { stop(); onForbidden(); return; }
      $('board-error').hidden = false;
      $('board-error').textContent = `The board could not be loaded: ${e.message}` + (lastOk ? ` (figures from ${new Date(lastOk).toLocaleTimeString()})` : '');
    } finally {
      inFlight = false;
      if (running) timer = setTimeout(poll, POLL_MS);
    }
  }

  function start() {
    if (running) return;
    running = true;
    poll();
  }

  function stop() {
    running = false;
    clearTimeout(timer);
    timer = null;
  }

  // Three horizontal bars (p50, p90, p99) on a common scale, with the values as text.
  function pctCell(p, scale) {
    const td = el('td', { class: 'pct' });
    if (!p || !p.count) { td.append(el('span', { class: 'muted', text: 'no data' })); return td; }
    const bars = el('div', { class: 'pbars', 'data-testid': 'pct-bars', role: 'img',
      'aria-label': `p50 ${fmtDuration(p.p50)}, p90 ${fmtDuration(p.p90)}, p99 ${fmtDuration(p.p99)}, ${p.count} samples` });
    for (const k of ['p50', 'p90', 'p99']) {
      const b = el('span', { class: 'pbar pbar-' + k });
      b.style.width = (scale > 0 ? Math.max(1.5, (p[k] / scale) * 100) : 0) + '%';
      bars.append(b);
    }
    td.append(bars, el('div', { class: 'pvals', text: `${fmtDuration(p.p50)} / ${fmtDuration(p.p90)} / ${fmtDuration(p.p99)} · n=${p.count}` }));
    return td;
  }

  const num = (v, cls = 'num') => el('td', { class: cls, text: v == null ? '–' : String(v) });
  const scaleOf = (rows, key) => Math.max(0, ...rows.map((r) => (r[key] && r[key].count ? r[key].p99 : 0)));

  function render(data) {
    const now = data.now_ts || Date.now();
    $('board-updated').textContent = `Updated ${new Date().toLocaleTimeString()} · refreshes every 2 s`;
    const lines = data.lines || [];
    const ops = data.operators || [];
    const dialogs = data.dialogs || [];
    const lineName = (id) => (lines.find((l) => l.id === id) || {}).name || id;
    const opName = (id) => (ops.find((o) => o.id === id) || {}).name || id;

    const lfr = scaleOf(lines, 'first_response_ms');
    const lr = scaleOf(lines, 'response_ms');
    $('board-lines-body').replaceChildren(...lines.map((l) => {
      const ds = l.dialogs || {};
      const waiting = l.queue_length != null ? l.queue_length : ds.queued;
      const tr = el('tr', { 'data-testid': 'board-line-row', 'data-line-id': l.id, class: waiting > 0 ? 'has-queue' : '' },
        el('th', { scope: 'row', text: l.name || l.id }),
        el('td', { class: 'num strong', 'data-testid': 'board-queue-length', text: String(waiting ?? 0) }),
        el('td', { class: 'num' + (l.oldest_wait_ms > 60000 ? ' warn' : ''), 'data-testid': 'board-oldest-wait', text: waiting > 0 || l.oldest_wait_ms ? fmtDuration(l.oldest_wait_ms) : '–' }),
        el('td', { class: 'num', 'data-testid': 'board-dialog-states', text: [ds.offered, ds.active, ds.bot, ds.closing].map((x) => x ?? 0).join(' · ') }),
        num(l.closed, 'num opt'), num(l.unanswered, 'num opt'),
        num(`${l.likes ?? 0} / ${l.dislikes ?? 0}`, 'num opt'), num(l.kpi_missed, 'num' + (l.kpi_missed > 0 ? ' warn' : '')),
        pctCell(l.first_response_ms, lfr), pctCell(l.response_ms, lr));
      return tr;
    }));
    if (!lines.length) $('board-lines-body').append(el('tr', {}, el('td', { colspan: '10', class: 'muted', text: 'No lines.' })));

    const ofr = scaleOf(ops, 'first_response_ms');
    const or = scaleOf(ops, 'response_ms');
    $('board-ops-body').replaceChildren(...ops.map((o) => {
      const cap = o.capacity || 0;
      const load = o.load || 0;
      const pct = cap > 0 ? Math.min(100, (load / cap) * 100) : 0;
      const bar = el('span', { class: 'loadbar-fill' + (pct >= 100 ? ' full' : pct >= 75 ? ' high' : '') });
      bar.style.width = pct + '%';
      return el('tr', { 'data-testid': 'board-operator-row', 'data-operator-id': o.id },
        el('th', { scope: 'row', text: o.name || o.id }),
        el('td', {}, el('span', { class: 'presence-badge p-' + (o.presence || 'offline'), 'data-testid': 'presence-badge', text: o.presence || 'unknown' })),
        el('td', { class: 'workday-cell w-' + (o.workday || 'unknown'), text: o.workday ? String(o.workday).replace(/_/g, ' ') : '–' }),
        el('td', { class: 'load' },
          el('span', { class: 'loadbar', 'data-testid': 'load-bar', role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': String(cap), 'aria-valuenow': String(load), 'aria-label': `Load ${load} of ${cap}` }, bar),
          el('span', { class: 'loadtext', text: `${load} / ${cap || '–'}` })),
        num(o.closed, 'num opt'), num(o.unanswered, 'num opt'), num(`${o.likes ?? 0} / ${o.dislikes ?? 0}`, 'num opt'), num(o.kpi_missed, 'num' + (o.kpi_missed > 0 ? ' warn' : '')),
        pctCell(o.first_response_ms, ofr), pctCell(o.response_ms, or));
    }));
    if (!ops.length) $('board-ops-body').append(el('tr', {}, el('td', { colspan: '10', class: 'muted', text: 'No operators.' })));

    $('board-dialogs-count').textContent = String(dialogs.length + (data.dialogs_not_shown || 0));
    const focusedRate = document.activeElement && document.activeElement.dataset && document.activeElement.dataset.testid === 'board-rate' ? document.activeElement.dataset.dialogId : null;
    // Do not rebuild the table under a score selector the supervisor is using.
    if (focusedRate) return;
    $('board-dialogs-body').replaceChildren(...dialogs.map((d) => {
      const c = d.client || {};
      const who = c.name || c.email || c.phone || (c.client_id ? 'Visitor ' + String(c.client_id).slice(0, 6) : '–');
      const decisions = el('ol', { class: 'decisions' }, ...(d.decisions || []).slice(-6).map((x) =>
        el('li', {}, el('time', { text: new Date(x.ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) }), ' ', el('span', { text: x.text }))));
      if (!(d.decisions || []).length) decisions.append(el('li', { class: 'muted', text: 'no decisions recorded' }));
      const sel = el('select', { 'data-testid': 'board-rate', 'data-dialog-id': d.id, 'aria-label': `Supervisor score for dialog ${d.id}` },
        el('option', { value: '', text: d.supervisor_score ? `${d.supervisor_score} / 5` : 'rate…' }),
        ...[1, 2, 3, 4, 5].map((n) => el('option', { value: String(n), text: `${n} / 5` })));
      sel.addEventListener('change', async () => {
        const n = Number(sel.value);
        if (!n) return;
        sel.disabled = true;
        await rate(d.id, n);
        sel.disabled = false;
        sel.blur();
      });
      const r = d.rating;
      const ratingText = r == null ? '–' : typeof r === 'object' ? `${r.score}${r.comment ? ' “' + r.comment + '”' : ''}` : String(r);
      const offered = (d.offered_to || []).length ? 'offered to ' + d.offered_to.map(opName).join(', ') : '';
      return el('tr', { 'data-testid': 'board-dialog-row', 'data-dialog-id': d.id },
        el('td', { class: 'mono', text: '#' + d.id }),
        el('td', { text: lineName(d.line) }),
        el('td', {}, el('span', { class: 'state-badge s-' + d.state, text: d.state })),
        el('td', { text: who }),
        el('td', { text: d.operator ? opName(d.operator) : offered || '–' }),
        el('td', { class: 'num', text: d.created_ts ? fmtDuration(now - d.created_ts) : '–' }),
        el('td', { class: 'decisions-cell' }, decisions),
        el('td', { text: ratingText }),
        el('td', {}, sel));
    }));
    if (!dialogs.length) $('board-dialogs-body').append(el('tr', {}, el('td', { colspan: '9', class: 'muted', text: 'No open dialogs.' })));
    if (data.dialogs_not_shown > 0) $('board-dialogs-body').append(el('tr', {}, el('td', { colspan: '9', class: 'muted', text: `…and ${data.dialogs_not_shown} newer open dialogs not shown.` })));
  }

  return { start, stop, render };
}
