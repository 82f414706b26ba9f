// Switchboard operator console and supervisor board.
// Plain ES module, no build step, no dependencies. Talks to `/ws/operator` (docs/protocol.md)
// and to the operator-authenticated `/api/v1/console/{directory,board}` endpoints.
//
// Development overrides (query string), honoured only for a loopback host or this page's host
// (the token must not be sent elsewhere; the server's CSP `connect-src 'self'` blocks other
// origins anyway, so these help only when the files are served by a development server):
//   ?server=ws://127.0.0.1:7878   WebSocket base (the console appends /ws/operator)
//   ?api=http://127.0.0.1:7878    HTTP base for /api/v1/console/* (default: same origin)
//
// data-testid attributes (stable; the end-to-end tests use them):
//   sign in      login-form, login-token, login-submit, login-error
//   top bar      tab-chats, tab-board (supervisors only; aria-pressed on the current tab),
//                conn-state (data-state: connecting|online|reconnecting|offline),
//                presence-select (online|away), workday-start, workday-pause, workday-end
//                (aria-pressed), workday-state (working|paused|ended), notify-btn, help-btn,
//                help-dialog, help-close, me-name, signout
//   alerts       banners, banner (data-kind: status|kpi|error|info), banner-dismiss, toasts, toast
//   offers       offers-list, offers-count, offer (data-dialog-id), offer-client, offer-messages,
//                offer-countdown, offer-accept, offer-decline
//   chats        chat-list, chats-count, chat-item (data-dialog-id, data-state, aria-selected),
//                chat-unread
//   thread       thread-title, thread-sub, thread (the message log), thread-scroll, older-btn,
//                message (data-msg-id, data-seq, data-author: client|operator|bot|system,
//                data-status: sent|sending|failed), message-text, msg-save-qa, thread-note
//                (rating / closing notes), draft-preview, draft-text
//   actions      thread-accept, thread-decline (a selected offer), transfer-btn, close-btn,
//                dismiss-btn (closed chats), rate-control, rate-1 … rate-5 (supervisors)
//   composer     composer, composer-input, send-btn, save-qa-btn, qa-popup, qa-list,
//                qa-item (data-qa-id, aria-selected)
//   transfer     transfer-dialog, transfer-kind-operator, transfer-kind-line, transfer-target,
//                transfer-target-text (used when the directory is unavailable), transfer-submit,
//                transfer-cancel
//   client panel client-panel, client-details, client-name, client-email, client-phone,
//                client-id, client-line, client-dialog, contact-section, earlier-dialogs
//   contact card contact-card (data-state: none|linked|unverified|unlinked), contact-error,
//                (contact_card.js)  linked: contact-name, contact-id, contact-company, contact-type,
//                contact-tags (contact-tag chips), contact-responsible, contact-emails,
//                contact-phones, contact-edit, contact-unlink; edit form: contact-edit-form,
//                contact-edit-type, contact-edit-tags, contact-edit-responsible,
//                contact-edit-save, contact-edit-cancel; log: interaction-form,
//                interaction-kind-select, interaction-text-input, interaction-add,
//                interaction-list, interaction-item (data-interaction-id, data-kind) with
//                interaction-kind, interaction-time, interaction-text; interaction-empty,
//                interaction-more.  Not linked: contact-unverified, contact-confirm,
//                contact-none, contact-link-search, contact-link-go, contact-link-results,
//                contact-link-result (data-contact-id), contact-create-lead
//   offers       offer-contact (the linked contact's name, or "matches contact #ID")
//   board        board, board-updated, board-error, board-lines, board-line-row (data-line-id)
//                with board-queue-length, board-oldest-wait, board-dialog-states; board-operators,
//                board-operator-row (data-operator-id) with presence-badge, load-bar
//                (role=meter); pct-bars (p50/p90/p99 bars, in line and operator rows);
//                board-dialogs, board-dialog-row (data-dialog-id), board-rate (select, data-dialog-id)

import { createBoard } from './board.js';
import { createContactCard } from './contact_card.js';

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = 'switchboard.console.token';
const params = new URLSearchParams(location.search);
function devOverride(name, schemes) {
  const v = params.get(name);
  if (!v) return '';
  try {
    const u = new URL(v);
    const local = ['127.0.0.1', 'localhost', '[::1]', location.hostname].includes(u.hostname);
    if (schemes.includes(u.protocol) && local) return v.replace(/\/+$/, '');
  } catch { /* not a URL */ }
  console.warn(`ignoring ?${name}=: only ${schemes.join(' / ')} URLs of a loopback host or this host`);
  return '';
}
const API_BASE = devOverride('api', ['http:', 'https:']);
const WS_BASE = devOverride('server', ['ws:', 'wss:']);
const EVENT_TYPES = new Set(['dialog_offered', 'dialog_revoked', 'dialog_assigned', 'message',
  'dialog_closed', 'rating', 'kpi_alert', 'status']);
const OPEN_STATES = new Set(['offered', 'active', 'closing', 'queued', 'bot']);
const TYPING_EVERY_MS = 1500;
const LIVENESS_IDLE_MS = 30000;
const LIVENESS_WAIT_MS = 10000;
const BASE_TITLE = 'Switchboard console';

export function wsUrl() {
  if (WS_BASE) return WS_BASE.replace(/\/ws\/operator$/, '') + '/ws/operator';
  return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/operator';
}

// ---------------------------------------------------------------------------------------------
// State

const S = {
  token: null,
  me: null,               // {id, name, supervisor}
  directory: null,        // {me, lines, operators}
  ws: null,
  authed: false,
  signedOut: true,
  lastSeq: 0,             // highest event seq seen
  replayUntil: 0,         // frames with seq <= this after a welcome are replays (no ringing)
  reqId: 0,
  pending: new Map(),     // req -> {resolve, reject, frame, item?}
  dialogs: new Map(),     // dialog id -> dialog
  orphans: new Map(),     // dialog id -> [messages] seen before the dialog
  selected: null,
  quickAnswers: [],
  qa: { open: false, index: 0, items: [] },
  presence: 'online',
  wantPresence: 'online', // the operator's own choice, restored after a reconnect
  workday: null,
  retry: 0,
  reconnectAt: 0,
  reconnectTimer: null,
  lastFrameAt: 0,
  probe: null,
  lastTypingAt: 0,
  bgEvents: 0,
  seqCounter: 0,
};

function newDialog(id) {
  return {
    id, line: '', state: 'active', client: {}, deadline_ts: null, mode: null,
    msgs: new Map(), outbox: [], unread: 0, draft: '', note: '', rating: null, supScore: null,
    olderDone: false, loadingOlder: false, order: ++S.seqCounter, offeredAt: 0,
  };
}

function getDialog(id) {
  let d = S.dialogs.get(id);
  if (!d) {
    d = newDialog(id);
    S.dialogs.set(id, d);
    const orphans = S.orphans.get(id);
    if (orphans) { for (const m of orphans) addMessage(d, m); S.orphans.delete(id); }
  }
  return d;
}

const isOffer = (d) => d.state === 'offered';
const isMine = (d) => d.state === 'active';
const isReadOnly = (d) => !(d.state === 'offered' || d.state === 'active');
const clientName = (c) => (c && (c.name || c.email || c.phone)) || (c && c.client_id ? 'Visitor ' + c.client_id.slice(0, 6) : 'Visitor');

// ---------------------------------------------------------------------------------------------
// Helpers

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

function randomId(prefix) {
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  return prefix + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function fmtTime(ts) {
  if (!ts) return '';
  const d = new Date(ts);
  const now = new Date();
  const hm = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return d.toDateString() === now.toDateString() ? hm : d.toLocaleDateString([], { day: 'numeric', month: 'short' }) + ' ' + hm;
}

export function fmtDuration(ms) {
  if (ms == null || Number.isNaN(ms)) return '–';
  ms = Math.max(0, Math.round(ms));
  if (ms < 1000) return ms + ' ms';
  if (ms < 10000) return (ms / 1000).toFixed(1) + ' s';
  const s = Math.round(ms / 1000);
  if (s < 60) return s + ' s';
  const m = Math.floor(s / 60);
  if (m < 60) return m + ' min ' + String(s % 60).padStart(2, '0') + ' s';
  return Math.floor(m / 60) + ' h ' + String(m % 60).padStart(2, '0') + ' min';
}

function fmtCountdown(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
}

// Keyed list reconciliation: keeps existing nodes (focus, aria-live) and only moves what moved.
function reconcile(container, items, keyOf, create, update) {
  const existing = new Map();
  for (const child of Array.from(container.children)) existing.set(child.dataset.key, child);
  let prev = null;
  const seen = new Set();
  for (const item of items) {
    const key = keyOf(item);
    seen.add(key);
    let node = existing.get(key);
    if (!node) { node = create(item); node.dataset.key = key; }
    update(node, item);
    const want = prev ? prev.nextSibling : container.firstChild;
    if (want !== node) container.insertBefore(node, want);
    prev = node;
  }
  for (const [key, node] of existing) if (!seen.has(key)) node.remove();
}

// ---------------------------------------------------------------------------------------------
// Toasts and banners

export function toast(text, kind = 'info', timeout = 6000) {
  const t = el('div', { class: 'toast toast-' + kind, 'data-testid': 'toast', 'data-kind': kind, role: kind === 'error' ? 'alert' : null },
    el('span', { class: 'toast-text', text }),
    el('button', { type: 'button', class: 'toast-x', 'aria-label': 'Dismiss', text: '×', onclick: () => t.remove() }));
  $('toasts').append(t);
  while ($('toasts').children.length > 5) $('toasts').firstChild.remove();
  if (timeout) setTimeout(() => t.remove(), timeout);
  return t;
}

function banner(key, text, kind = 'info', actions = []) {
  let b = $('banners').querySelector(`[data-key="${key}"]`);
  if (b) b.remove();
  b = el('div', { class: 'banner banner-' + kind, 'data-testid': 'banner', 'data-kind': kind, 'data-key': key, role: kind === 'info' ? 'status' : 'alert' },
    el('span', { class: 'banner-icon', 'aria-hidden': 'true', text: kind === 'info' ? 'i' : '!' }),
    el('span', { class: 'banner-text', text }));
  for (const a of actions) b.append(el('button', { type: 'button', class: 'btn btn-small', text: a.label, onclick: () => { a.run(); b.remove(); } }));
  b.append(el('button', { type: 'button', class: 'banner-x', 'data-testid': 'banner-dismiss', 'aria-label': 'Dismiss', text: '×', onclick: () => b.remove() }));
  $('banners').append(b);
  while ($('banners').children.length > 4) $('banners').firstChild.remove();
  return b;
}

function clearBanner(key) {
  const b = $('banners').querySelector(`[data-key="${key}"]`);
  if (b) b.remove();
}

// ---------------------------------------------------------------------------------------------
// Sound, title counter, desktop notifications

let audioCtx = null;
function unlockAudio() {
  try {
    if (!audioCtx) audioCtx = new (window.AudioContext || window.webkitAudioContext)();
    if (audioCtx.state === 'suspended') audioCtx.resume();
  } catch { /* no audio */ }
}

function beep(kind = 'offer') {
  if (!audioCtx || audioCtx.state !== 'running') return;
  const notes = kind === 'offer' ? [880, 1175] : [660];
  let t = audioCtx.currentTime;
  for (const f of notes) {
    const o = audioCtx.createOscillator();
    const g = audioCtx.createGain();
    o.type = 'sine';
    o.frequency.value = f;
    g.gain.setValueAtTime(0.0001, t);
    g.gain.exponentialRampToValueAtTime(0.18, t + 0.02);
    g.gain.exponentialRampToValueAtTime(0.0001, t + 0.18);
    o.connect(g).connect(audioCtx.destination);
    o.start(t);
    o.stop(t + 0.2);
    t += 0.16;
  }
}

function inBackground() { return document.hidden || !document.hasFocus(); }

function notifyUser(kind, title, body, dialogId) {
  const bg = inBackground();
  if (kind === 'offer' || bg) beep(kind);
  if (bg) { S.bgEvents++; updateTitle(); }
  if (bg && 'Notification' in window && Notification.permission === 'granted') {
    try {
      const n = new Notification(title, { body: body.slice(0, 160), tag: 'switchboard-' + dialogId, icon: './icon.svg' });
      n.onclick = () => { window.focus(); if (dialogId != null) select(dialogId); n.close(); };
    } catch { /* some platforms only allow notifications from a service worker */ }
  }
}

function updateTitle() {
  let unread = 0;
  let offers = 0;
  for (const d of S.dialogs.values()) { unread += d.unread; if (isOffer(d)) offers++; }
  const n = Math.max(S.bgEvents, unread + offers);
  document.title = (n > 0 ? `(${n}) ` : '') + BASE_TITLE;
}

function askNotificationPermission() {
  if (!('Notification' in window)) return;
  if (Notification.permission === 'default') {
    Notification.requestPermission().then(updateNotifyButton, () => {});
  }
}

function updateNotifyButton() {
  const b = $('notify-btn');
  const p = 'Notification' in window ? Notification.permission : 'unsupported';
  b.dataset.permission = p;
  b.title = p === 'granted' ? 'Desktop notifications are on' : p === 'denied' ? 'Desktop notifications are blocked in the browser settings' : 'Enable desktop notifications';
  b.setAttribute('aria-label', b.title);
  b.classList.toggle('btn-muted', p !== 'granted');
}

// ---------------------------------------------------------------------------------------------
// HTTP (directory)

async function api(path) {
  const r = await fetch(API_BASE + path, { headers: { authorization: 'Bearer ' + S.token, accept: 'application/json' }, cache: 'no-store' });
  let body = null;
  try { body = await r.json(); } catch { /* not JSON */ }
  if (!r.ok) {
    const err = new Error((body && body.error && body.error.message) || `HTTP ${r.status}`);
    err.status = r.status;
    err.code = body && body.error && body.error.code;
    throw err;
  }
  return body;
}

async function loadDirectory() {
  try {
    S.directory = await api('/api/v1/console/directory');
    if (S.directory && S.directory.me) {
      S.me = { ...(S.me || {}), ...S.directory.me };
      renderMe();
    }
  } catch (e) {
    // keep an earlier directory; the WebSocket hello reports a bad token
    if (e.status === 401) return;
    console.warn('console directory unavailable:', e.message);
  }
}

// ---------------------------------------------------------------------------------------------
// WebSocket connection

function setConn(state, text) {
  const c = $('conn-state');
  c.dataset.state = state;
  c.className = 'conn conn-' + state;
  c.textContent = text;
}

function connect() {
  clearTimeout(S.reconnectTimer);
  S.reconnectTimer = null;
  if (S.signedOut) return;
  if (S.ws) { try { S.ws.close(); } catch { /* already closed */ } }
  setConn('connecting', 'Connecting…');
  let ws;
  try { ws = new WebSocket(wsUrl()); } catch (e) { scheduleReconnect(); return; }
  S.ws = ws;
  S.authed = false;
  ws.onopen = () => {
    if (S.ws !== ws) return;
    const hello = { type: 'hello', token: S.token };
    if (S.lastSeq > 0) hello.last_seq = S.lastSeq;
    ws.send(JSON.stringify(hello));
  };
  ws.onmessage = (ev) => {
    if (S.ws !== ws) return;
    S.lastFrameAt = Date.now();
    let f;
    try { f = JSON.parse(ev.data); } catch { return; }
    try { handleFrame(f); } catch (e) { console.error('frame handling failed', f, e); }
    // frames flow again (e.g. after the browser reported offline and the socket survived)
    if (S.authed && S.ws === ws && $('conn-state').dataset.state !== 'online') setConn('online', 'Connected');
  };
  ws.onclose = (ev) => {
    if (S.ws !== ws) return;
    S.ws = null;
    S.authed = false;
    failPending();
    if (S.signedOut) return;
    if (ev.code === 1008 && S.authFailed) return;
    scheduleReconnect(ev.code);
  };
  ws.onerror = () => { /* onclose follows */ };
}

function scheduleReconnect() {
  clearTimeout(S.reconnectTimer);
  const delay = Math.min(15000, 500 * 2 ** S.retry) * (0.75 + Math.random() * 0.5);
  S.retry = Math.min(S.retry + 1, 6);
  S.reconnectAt = Date.now() + delay;
  if (!navigator.onLine) setConn('offline', 'Offline — waiting for the network');
  else setConn('reconnecting', `Reconnecting in ${Math.ceil(delay / 1000)} s…`);
  S.reconnectTimer = setTimeout(connect, delay);
}

function send(frame) {
  if (!S.ws || S.ws.readyState !== WebSocket.OPEN || !S.authed) return false;
  S.ws.send(JSON.stringify(frame));
  return true;
}

// Sends a request and resolves with its answer (ack / history / quick_answers), rejects on error.
function request(frame, extra = {}) {
  return new Promise((resolve, reject) => {
    const req = ++S.reqId;
    const f = { ...frame, req };
    if (!send(f)) {
      const e = new Error('Not connected — try again in a moment.');
      e.code = 'disconnected';
      reject(e);
      return;
    }
    S.pending.set(req, { resolve, reject, frame: f, ...extra });
  });
}

function failPending() {
  for (const [req, p] of S.pending) {
    S.pending.delete(req);
    if (p.item) { p.item.req = null; continue; } // an unacked message: resent after the reconnect
    const e = new Error('The connection dropped before the server answered.');
    e.code = 'disconnected';
    p.reject(e);
  }
}

function checkLiveness() {
  if (!S.ws || !S.authed) return;
  const idle = Date.now() - S.lastFrameAt;
  if (idle > LIVENESS_IDLE_MS && !S.probe) probeConnection(LIVENESS_WAIT_MS);
}

function probeConnection(wait) {
  if (!S.ws || !S.authed || S.probe) return;
  const ws = S.ws;
  S.probe = setTimeout(() => { S.probe = null; if (S.ws === ws) { try { ws.close(4001, 'no answer'); } catch { /* */ } if (S.ws === ws) { S.ws = null; S.authed = false; failPending(); scheduleReconnect(); } } }, wait);
  request({ type: 'quick_answers' }).then((r) => { clearTimeout(S.probe); S.probe = null; setQuickAnswers(r.items); }, () => { clearTimeout(S.probe); S.probe = null; });
}

// ---------------------------------------------------------------------------------------------
// Frames from the server

function handleFrame(f) {
  const seq = typeof f.seq === 'number' ? f.seq : 0;
  const isEvent = EVENT_TYPES.has(f.type) && !(f.type === 'status' && f.req);
  const replayed = isEvent && seq > 0 && seq <= S.replayUntil;
  if (isEvent && seq > S.lastSeq) S.lastSeq = seq;

  if (f.req != null && ['ack', 'error', 'history', 'quick_answers', 'contact', 'contacts', 'interactions'].includes(f.type)) {
    const p = S.pending.get(f.req);
    if (p) {
      S.pending.delete(f.req);
      if (f.type === 'error') {
        const e = new Error(f.message || f.code);
        e.code = f.code;
        p.reject(e);
      } else p.resolve(f);
      return;
    }
  }

  switch (f.type) {
    case 'welcome': onWelcome(f); break;
    case 'error': onError(f); break;
    case 'dialog_offered': onOffered(f, replayed); break;
    case 'dialog_revoked': onRevoked(f, replayed); break;
    case 'dialog_assigned': onAssigned(f); break;
    case 'message': onMessage(f, replayed); break;
    case 'typing_preview': onTypingPreview(f); break;
    case 'dialog_closed': onClosed(f); break;
    case 'rating': onRating(f); break;
    case 'kpi_alert': onKpiAlert(f, replayed); break;
    case 'status': onStatus(f, replayed); break;
    case 'history': mergeHistory(f); render(); break;
    case 'quick_answers': setQuickAnswers(f.items); break;
    case 'ack': break;
    default: break;
  }
}

function onWelcome(f) {
  const resumed = S.lastSeq > 0;
  const epoch = (n) => Math.floor(n / 2 ** 32);
  const restarted = resumed && epoch(f.seq || 0) !== epoch(S.lastSeq);
  S.authed = true;
  S.retry = 0;
  S.me = { ...(S.me || {}), id: f.operator_id, name: (S.me && S.me.name) || f.name };
  if (!S.me.name) S.me.name = f.name;
  S.presence = f.status || 'online';
  $('presence-select').value = S.presence === 'away' ? 'away' : 'online';
  if (S.wantPresence === 'away' && S.presence !== 'away') setPresence('away', true);
  S.replayUntil = f.seq || 0;
  if (!resumed || restarted) S.lastSeq = Math.max(S.lastSeq, f.seq || 0);
  setConn('online', 'Connected');
  clearBanner('conn');
  renderMe();

  // The snapshot is the truth now; replayed events (older, seq <= welcome.seq) may follow and
  // are applied on top idempotently (messages deduplicated by msg_id).
  const ids = new Set();
  for (const s of f.dialogs || []) {
    if (s.state === 'queued' || s.state === 'bot') continue;
    ids.add(s.dialog_id);
    const d = getDialog(s.dialog_id);
    d.line = s.line || d.line;
    if (s.client) d.client = s.client;
    d.state = s.state;
    if (s.deadline_ts) d.deadline_ts = s.deadline_ts;
    if (s.state === 'offered' && !d.offeredAt) d.offeredAt = Date.now();
    const known = maxSeq(d);
    if ((s.last_seq || 0) > known) request({ type: 'history', dialog_id: d.id, limit: 50 }).then((h) => { mergeHistory(h); render(); }, () => {});
  }
  for (const d of Array.from(S.dialogs.values())) {
    if (ids.has(d.id)) continue;
    if (d.state === 'offered') S.dialogs.delete(d.id);
    else if (OPEN_STATES.has(d.state)) { d.state = 'closed'; d.note = d.note || 'No longer assigned to you.'; d.draft = ''; }
  }
  if (S.selected != null && !S.dialogs.has(S.selected)) S.selected = null;

  // Messages written while disconnected go out again with the same client_msg_id.
  for (const d of S.dialogs.values()) for (const item of d.outbox) if (item.status === 'sending' && !item.req) sendOutboxItem(d, item);

  request({ type: 'quick_answers' }).then((r) => setQuickAnswers(r.items), () => {});
  if (resumed) toast(restarted ? 'Reconnected (the server restarted).' : 'Reconnected.', 'info', 3000);
  render();
}

function onError(f) {
  if (!S.authed && f.code === 'unauthorized') {
    S.authFailed = true;
    signOut(f.message || 'The token was not accepted.');
    return;
  }
  toast(`${f.message || f.code}`, 'error');
}

function onOffered(f, replayed) {
  const d = getDialog(f.dialog_id);
  const wasOffer = d.state === 'offered';
  d.state = 'offered';
  d.line = f.line;
  d.client = f.client || d.client;
  d.deadline_ts = f.deadline_ts;
  d.mode = f.mode;
  d.offeredAt = Date.now();
  d.note = '';
  for (const m of f.last_messages || []) addMessage(d, m);
  if (!replayed && !wasOffer) {
    const last = (f.last_messages || []).filter((m) => m.author === 'client').pop();
    notifyUser('offer', `New chat: ${clientName(d.client)}`, last ? last.text : `Line ${f.line}`, d.id);
  }
  render();
}

function onRevoked(f, replayed) {
  const d = S.dialogs.get(f.dialog_id);
  if (!d) return;
  if (d.state === 'offered') {
    S.dialogs.delete(d.id);
    if (S.selected === d.id) S.selected = null;
    if (!replayed) {
      const why = { taken: 'was taken by another operator', timeout: 'timed out', declined: 'was declined', closed: 'was closed', transferred: 'was transferred', offline: 'moved on while you were away' }[f.reason] || `was withdrawn (${f.reason})`;
      toast(`Offer from ${clientName(d.client)} ${why}.`, 'info', 4000);
    }
  } else if (OPEN_STATES.has(d.state)) {
    d.state = 'revoked';
    d.note = f.reason === 'transferred' ? 'Transferred.' : f.reason === 'offline' ? 'Given back to the queue while you were away.' : `Withdrawn (${f.reason}).`;
    d.draft = '';
  }
  render();
}

function onAssigned(f) {
  const d = getDialog(f.dialog_id);
  const fresh = d.msgs.size === 0;
  d.state = 'active';
  d.line = f.line || d.line;
  d.note = '';
  d.deadline_ts = null;
  if (fresh) request({ type: 'history', dialog_id: d.id, limit: 50 }).then((h) => { mergeHistory(h); render(); }, () => {});
  render();
}

function normMessage(m) {
  return { msg_id: m.msg_id, seq: m.dialog_seq != null ? m.dialog_seq : m.seq, author: m.author, name: m.name, text: m.text, ts: m.ts };
}

function addMessage(d, raw) {
  const m = normMessage(raw);
  const had = d.msgs.has(m.msg_id);
  d.msgs.set(m.msg_id, m);
  return !had;
}

function maxSeq(d) { let s = 0; for (const m of d.msgs.values()) s = Math.max(s, m.seq || 0); return s; }
function minSeq(d) { let s = Infinity; for (const m of d.msgs.values()) s = Math.min(s, m.seq || 0); return s === Infinity ? 0 : s; }

function onMessage(f, replayed) {
  const d = S.dialogs.get(f.dialog_id);
  if (!d) {
    const list = S.orphans.get(f.dialog_id) || [];
    list.push(f);
    if (list.length > 50) list.shift();
    S.orphans.set(f.dialog_id, list);
    if (S.orphans.size > 200) S.orphans.delete(S.orphans.keys().next().value);
    return;
  }
  const fresh = addMessage(d, f);
  if (!fresh) return;
  if (f.author === 'client') {
    d.draft = '';
    const looking = S.selected === d.id && !document.hidden && viewIsChats();
    if (!looking) d.unread++;
    if (!replayed && !looking) notifyUser('message', clientName(d.client), f.text, d.id);
    else if (!replayed && inBackground()) notifyUser('message', clientName(d.client), f.text, d.id);
  }
  render();
}

function onTypingPreview(f) {
  const d = S.dialogs.get(f.dialog_id);
  if (!d) return;
  d.draft = f.text || '';
  d.draftAt = Date.now();
  if (S.selected === d.id) renderDraft();
  renderLists();
}

function onClosed(f) {
  const d = S.dialogs.get(f.dialog_id);
  if (!d) return;
  if (d.state === 'offered') {
    S.dialogs.delete(d.id);
    if (S.selected === d.id) S.selected = null;
    render();
    return;
  }
  d.state = 'closed';
  d.closedAt = Date.now();
  d.draft = '';
  const why = { operator: 'You closed the chat.', client: 'The client closed the chat.', bot: 'Closed by the bot.', client_idle: 'Closed: the client was idle.', operator_silence: 'Closed: no operator answer.', line_deleted: 'Closed: the line was deleted.', admin: 'Closed by an administrator.', rated: 'Closed after the client rated it.', rating_timeout: 'Closed.', client_returned: 'Closed: the client started a new chat.' }[f.reason] || `Closed (${f.reason}).`;
  d.note = why;
  render();
}

function onRating(f) {
  const d = S.dialogs.get(f.dialog_id);
  if (!d) return;
  d.rating = { score: f.score, comment: f.comment };
  render();
}

function onKpiAlert(f, replayed) {
  if (replayed) return;
  const text = f.text || `KPI ${f.kind === 'first_response' ? 'first response' : 'response'} missed on dialog ${f.dialog_id}`;
  const actions = S.dialogs.has(f.dialog_id) ? [{ label: 'Open chat', run: () => select(f.dialog_id) }] : [];
  banner('kpi-' + f.dialog_id + '-' + f.kind, text, 'kpi', actions);
  notifyUser('message', 'KPI alert', text, f.dialog_id);
}

function onStatus(f, replayed) {
  S.presence = f.state;
  $('presence-select').value = ['online', 'away', 'offline'].includes(f.state) ? f.state : 'online';
  if (replayed) return;
  if (f.state !== 'online') {
    const reason = f.reason ? (/miss/.test(f.reason) ? ' after missed offers' : ` (${String(f.reason).replace(/_/g, ' ')})`) : '';
    const text = `The server set you ${f.state}${reason}. You get no new offers until you go online.`;
    banner('status', text, 'status', [{ label: 'Go online', run: () => setPresence('online') }]);
  } else clearBanner('status');
  renderMe();
}

function mergeHistory(h) {
  const d = S.dialogs.get(h.dialog_id);
  if (!d) return;
  for (const m of h.messages || []) addMessage(d, m);
  if (minSeq(d) <= 1) d.olderDone = true;
}

function setQuickAnswers(items) {
  S.quickAnswers = Array.isArray(items) ? items : [];
  if (S.qa.open) openQuickAnswers($('composer-input').value.slice(1));
}

// ---------------------------------------------------------------------------------------------
// Actions

function select(id) {
  if (!S.dialogs.has(id)) return;
  const changed = S.selected !== id;
  S.selected = id;
  if (!viewIsChats()) showView('chats');
  const d = S.dialogs.get(id);
  if (!document.hidden) d.unread = 0;
  if (changed) {
    $('composer-input').value = d.composeDraft || '';
    closeQuickAnswers();
    const log = $('thread');
    log.setAttribute('aria-live', 'off');
    log.replaceChildren();
    setTimeout(() => log.setAttribute('aria-live', 'polite'), 1500);
    if (d.msgs.size === 0 || (!d.olderDone && d.msgs.size < 10 && minSeq(d) > 1)) {
      request({ type: 'history', dialog_id: d.id, limit: 50 }).then((h) => { mergeHistory(h); render(); }, () => {});
    }
  }
  render(true);
}

async function accept(id) {
  const d = S.dialogs.get(id);
  if (!d || d.state !== 'offered') return;
  d.busy = true;
  renderLists();
  try {
    await request({ type: 'accept', dialog_id: id });
    d.state = 'active';
    d.deadline_ts = null;
    select(id);
    $('composer-input').focus();
  } catch (e) {
    if (e.code === 'invalid_state' || e.code === 'not_found') {
      S.dialogs.delete(id);
      if (S.selected === id) S.selected = null;
      toast('This chat was already taken or is gone.', 'info');
    } else if (e.code === 'capacity') toast('You are at your capacity: close a chat first.', 'error');
    else toast(e.message, 'error');
  } finally {
    d.busy = false;
    render();
  }
}

async function decline(id) {
  const d = S.dialogs.get(id);
  if (!d || d.state !== 'offered') return;
  d.busy = true;
  renderLists();
  try {
    await request({ type: 'decline', dialog_id: id });
    S.dialogs.delete(id);
    if (S.selected === id) S.selected = null;
  } catch (e) {
    if (e.code === 'invalid_state' || e.code === 'not_found') S.dialogs.delete(id);
    else toast(e.message, 'error');
  } finally {
    d.busy = false;
    render();
  }
}

function oldestOffer() {
  return Array.from(S.dialogs.values()).filter(isOffer).sort((a, b) => (a.deadline_ts || 0) - (b.deadline_ts || 0) || a.order - b.order)[0];
}

function sendMessage() {
  const input = $('composer-input');
  const d = S.dialogs.get(S.selected);
  if (!d || isReadOnly(d)) return;
  const text = input.value.replace(/\s+$/, '');
  if (!text.trim()) return;
  const item = { cmid: randomId('o-'), text, ts: Date.now(), status: 'sending', req: null };
  d.outbox.push(item);
  input.value = '';
  d.composeDraft = '';
  closeQuickAnswers();
  updateComposer();
  sendOutboxItem(d, item);
  render(true);
  scrollThreadToBottom();
}

function sendOutboxItem(d, item) {
  const p = request({ type: 'message', dialog_id: d.id, client_msg_id: item.cmid, text: item.text }, { item });
  item.req = S.reqId;
  p.then((ack) => {
    d.outbox = d.outbox.filter((x) => x !== item);
    if (!d.msgs.has(ack.msg_id)) {
      d.msgs.set(ack.msg_id, { msg_id: ack.msg_id, seq: ack.dialog_seq, author: 'operator', name: S.me && S.me.name, text: item.text, ts: item.ts });
    }
    if (d.state === 'offered') d.state = 'active';
    render();
  }, (e) => {
    if (e.code === 'disconnected') { item.req = null; render(); return; } // resent after the reconnect
    item.status = 'failed';
    item.error = e.message;
    toast(`Not sent: ${e.message}`, 'error');
    render();
  });
}

function retryItem(d, item) {
  item.status = 'sending';
  item.error = null;
  sendOutboxItem(d, item);
  render();
}

async function closeChat(id) {
  const d = S.dialogs.get(id);
  if (!d) return;
  if (isReadOnly(d)) { dismiss(id); return; }
  if (d.state === 'offered') { decline(id); return; }
  try {
    await request({ type: 'close', dialog_id: id });
    if (d.state === 'active') { d.state = 'closing'; d.note = 'You closed the chat; waiting for the client\'s rating.'; d.draft = ''; }
    render();
  } catch (e) { toast(`Could not close: ${e.message}`, 'error'); }
}

function dismiss(id) {
  const list = chatOrder();
  const i = list.findIndex((d) => d.id === id);
  S.dialogs.delete(id);
  if (S.selected === id) {
    const next = list[i + 1] || list[i - 1];
    S.selected = next && next.id !== id ? next.id : null;
  }
  render(true);
}

async function transfer(id, kind, target) {
  const d = S.dialogs.get(id);
  if (!d || !target) return;
  const frame = { type: 'transfer', dialog_id: id };
  if (kind === 'line') frame.to_line = target; else frame.to_operator = target;
  try {
    await request(frame);
    const name = kind === 'line' ? lineName(target) : operatorName(target);
    if (!(kind === 'operator' && S.me && target === S.me.id)) {
      d.state = 'transferred';
      d.note = `Transferred to ${name}.`;
      d.draft = '';
    }
    toast(`Chat transferred to ${name}.`, 'info', 3000);
    render();
  } catch (e) { toast(`Transfer failed: ${e.message}`, 'error'); }
}

async function rateDialog(id, score) {
  try {
    await request({ type: 'supervisor_rate', dialog_id: id, score });
    const d = S.dialogs.get(id);
    if (d) d.supScore = score;
    toast(`Rated dialog ${id}: ${score}/5.`, 'info', 2500);
    render();
    return true;
  } catch (e) { toast(`Rating failed: ${e.message}`, 'error'); return false; }
}

async function setPresence(state, restoring) {
  const prev = S.presence;
  S.presence = state;
  if (!restoring) S.wantPresence = state;
  $('presence-select').value = state;
  try {
    await request({ type: 'status', state });
    if (state === 'online') clearBanner('status');
    renderMe();
  } catch (e) {
    S.presence = prev;
    $('presence-select').value = prev === 'away' ? 'away' : 'online';
    toast(`Could not change presence: ${e.message}`, 'error');
  }
}

async function setWorkday(action) {
  try {
    await request({ type: 'workday', action });
    S.workday = { start: 'working', pause: 'paused', end: 'ended' }[action];
    renderMe();
    toast({ start: 'Workday started.', pause: 'Workday paused.', end: 'Workday ended.' }[action], 'info', 2500);
  } catch (e) { toast(`Workday: ${e.message}`, 'error'); }
}

async function saveQuickAnswer(text) {
  text = (text || '').trim();
  if (!text) return;
  try {
    await request({ type: 'save_quick_answer', text });
    toast('Saved as a quick answer.', 'info', 2500);
    request({ type: 'quick_answers' }).then((r) => setQuickAnswers(r.items), () => {});
  } catch (e) {
    toast(e.code === 'not_found' ? 'None of your lines has a quick-answer list.' : `Not saved: ${e.message}`, 'error');
  }
}

async function loadOlder() {
  const d = S.dialogs.get(S.selected);
  if (!d || d.loadingOlder || d.olderDone) return;
  const before = minSeq(d);
  if (before <= 1) { d.olderDone = true; render(); return; }
  d.loadingOlder = true;
  const scroller = $('thread-scroll');
  const fromBottom = scroller.scrollHeight - scroller.scrollTop;
  renderThread();
  try {
    const limit = 30;
    const h = await request({ type: 'history', dialog_id: d.id, before_seq: before, limit });
    const n = (h.messages || []).length;
    mergeHistory(h);
    if (n < limit) d.olderDone = true;
  } catch (e) {
    toast(`Could not load older messages: ${e.message}`, 'error');
  } finally {
    d.loadingOlder = false;
    render();
    if (S.selected === d.id) scroller.scrollTop = scroller.scrollHeight - fromBottom;
  }
}

function sendTyping() {
  const d = S.dialogs.get(S.selected);
  if (!d || !isMine(d)) return;
  const now = Date.now();
  if (now - S.lastTypingAt < TYPING_EVERY_MS) return;
  S.lastTypingAt = now;
  send({ type: 'typing', dialog_id: d.id });
}

function signOut(message) {
  S.signedOut = true;
  sessionStorage.removeItem(TOKEN_KEY);
  clearTimeout(S.reconnectTimer);
  if (S.ws) { const ws = S.ws; S.ws = null; try { ws.close(1000, 'signed out'); } catch { /* */ } }
  failPending();
  board.stop();
  contactCard.reset();
  Object.assign(S, { token: null, me: null, directory: null, authed: false, lastSeq: 0, replayUntil: 0, selected: null, workday: null, bgEvents: 0, wantPresence: 'online', presence: 'online' });
  S.dialogs.clear();
  S.orphans.clear();
  $('banners').replaceChildren();
  $('thread').replaceChildren();
  $('composer-input').value = '';
  $('app').hidden = true;
  $('login-view').hidden = false;
  const err = $('login-error');
  err.hidden = !message;
  err.textContent = message || '';
  $('login-token').value = '';
  $('login-token').focus();
  document.title = BASE_TITLE;
}

function signIn(token) {
  S.token = token;
  S.signedOut = false;
  S.authFailed = false;
  S.retry = 0;
  sessionStorage.setItem(TOKEN_KEY, token);
  $('login-view').hidden = true;
  $('app').hidden = false;
  $('login-error').hidden = true;
  showView('chats');
  render(true);
  loadDirectory().then(() => { renderMe(); });
  connect();
}

// ---------------------------------------------------------------------------------------------
// Rendering

function viewIsChats() { return !$('chats-view').hidden; }

function showView(v) {
  const board_ = v === 'board' && S.me && S.me.supervisor;
  $('chats-view').hidden = board_;
  $('board-view').hidden = !board_;
  $('tab-chats').setAttribute('aria-pressed', String(!board_));
  $('tab-board').setAttribute('aria-pressed', String(board_));
  if (board_) board.start(); else board.stop();
  if (!board_ && S.selected != null) { const d = S.dialogs.get(S.selected); if (d && !document.hidden) { d.unread = 0; updateTitle(); } }
}

function renderMe() {
  const me = S.me || {};
  $('me-name').textContent = me.name ? `${me.name}${me.supervisor ? ' · supervisor' : ''}` : '';
  $('tab-board').hidden = !me.supervisor;
  $('workday-state').textContent = S.workday || '–';
  for (const b of document.querySelectorAll('[data-workday]')) {
    const on = { start: 'working', pause: 'paused', end: 'ended' }[b.dataset.workday] === S.workday;
    b.setAttribute('aria-pressed', String(on));
  }
  document.body.dataset.presence = S.presence;
}

function chatOrder() {
  return Array.from(S.dialogs.values()).filter((d) => !isOffer(d)).sort((a, b) => a.order - b.order);
}

function render(force) {
  renderLists();
  renderThread(force);
  renderClient();
  updateTitle();
}

function renderLists() {
  const offers = Array.from(S.dialogs.values()).filter(isOffer).sort((a, b) => (a.deadline_ts || 0) - (b.deadline_ts || 0) || a.order - b.order);
  $('offers-count').textContent = String(offers.length);
  $('offers-empty').hidden = offers.length > 0;
  reconcile($('offers-list'), offers, (d) => String(d.id), createOffer, updateOffer);

  const chats = chatOrder();
  $('chats-count').textContent = String(chats.filter((d) => !isReadOnly(d)).length);
  $('chats-empty').hidden = chats.length > 0;
  reconcile($('chat-list'), chats, (d) => String(d.id), createChatItem, updateChatItem);
  // roving tabindex: the selected chat (or the first) is the one Tab reaches
  const items = Array.from($('chat-list').children);
  const focusable = items.find((li) => li.getAttribute('aria-selected') === 'true') || items[0];
  for (const li of items) li.tabIndex = li === focusable ? 0 : -1;
  updateCountdowns();
}

function createOffer(d) {
  const li = el('li', { class: 'offer', 'data-testid': 'offer', 'data-dialog-id': d.id });
  const head = el('button', { type: 'button', class: 'offer-head', 'aria-label': 'Preview this offer', onclick: () => select(d.id) },
    el('span', { class: 'offer-client', 'data-testid': 'offer-client' }),
    el('span', { class: 'offer-line' }));
  const contact = el('p', { class: 'offer-contact', 'data-testid': 'offer-contact', hidden: true });
  const msgs = el('ul', { class: 'offer-messages', 'data-testid': 'offer-messages' });
  const bar = el('div', { class: 'countdown-bar', 'aria-hidden': 'true' }, el('span'));
  const foot = el('div', { class: 'offer-foot' },
    el('span', { class: 'countdown', 'data-testid': 'offer-countdown', role: 'timer', 'aria-label': 'Time left to accept' }),
    el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'offer-decline', onclick: () => decline(d.id) }, 'Decline'),
    el('button', { type: 'button', class: 'btn btn-small btn-primary', 'data-testid': 'offer-accept', onclick: () => accept(d.id) }, 'Accept'));
  li.append(head, contact, msgs, bar, foot);
  return li;
}

function updateOffer(li, d) {
  li.querySelector('.offer-client').textContent = clientName(d.client);
  li.querySelector('.offer-line').textContent = lineName(d.line) + (d.mode === 'all' ? ' · to all' : '');
  li.classList.toggle('is-selected', S.selected === d.id);
  const c = d.client || {};
  const known = c.contact ? '★ ' + c.contact.name + (c.contact.type ? ` · ${c.contact.type}` : '') : c.contact_id ? `★ Contact #${c.contact_id}` : c.unverified_match ? `? Matches contact #${c.unverified_match}` : '';
  const kc = li.querySelector('.offer-contact');
  kc.textContent = known;
  kc.hidden = !known;
  li.dataset.deadline = d.deadline_ts || '';
  const last = Array.from(d.msgs.values()).sort((a, b) => a.seq - b.seq).slice(-3);
  const ul = li.querySelector('.offer-messages');
  ul.replaceChildren(...last.map((m) => el('li', { class: 'offer-msg author-' + m.author },
    el('span', { class: 'offer-msg-who', text: m.author === 'client' ? '' : (m.name || m.author) + ': ' }),
    el('span', { text: m.text }))));
  if (d.draft) ul.append(el('li', { class: 'offer-msg offer-draft', text: '✎ ' + d.draft }));
  for (const b of li.querySelectorAll('button.btn')) b.disabled = !!d.busy;
}

function updateCountdowns() {
  const now = Date.now();
  for (const li of $('offers-list').children) {
    const dl = Number(li.dataset.deadline);
    const c = li.querySelector('.countdown');
    const bar = li.querySelector('.countdown-bar > span');
    if (!dl) { c.textContent = ''; continue; }
    const left = dl - now;
    c.textContent = left > 0 ? fmtCountdown(left) : 'passing on…';
    const d = S.dialogs.get(Number(li.dataset.dialogId));
    const total = d && d.offeredAt ? Math.max(1000, dl - d.offeredAt) : 120000;
    bar.style.width = Math.max(0, Math.min(100, (left / total) * 100)) + '%';
    li.classList.toggle('urgent', left < 15000);
  }
}

function createChatItem(d) {
  return el('li', { class: 'chat-item', 'data-testid': 'chat-item', 'data-dialog-id': d.id, role: 'option', tabindex: '-1', onclick: () => select(d.id),
    onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); select(d.id); } } },
    el('div', { class: 'chat-row' }, el('span', { class: 'chat-name' }), el('span', { class: 'chat-time' })),
    el('div', { class: 'chat-row' }, el('span', { class: 'chat-last' }), el('span', { class: 'chat-unread', 'data-testid': 'chat-unread' })));
}

function updateChatItem(li, d) {
  const sel = S.selected === d.id;
  li.setAttribute('aria-selected', String(sel));
  li.dataset.state = d.state;
  li.classList.toggle('is-selected', sel);
  li.classList.toggle('is-closed', isReadOnly(d));
  li.classList.toggle('has-unread', d.unread > 0);
  li.querySelector('.chat-name').textContent = clientName(d.client);
  const last = Array.from(d.msgs.values()).sort((a, b) => a.seq - b.seq).pop();
  const lastText = d.draft ? '✎ ' + d.draft : isReadOnly(d) ? (d.note || 'Closed') : last ? (last.author === 'operator' ? 'You: ' : '') + last.text : lineName(d.line);
  li.querySelector('.chat-last').textContent = lastText;
  li.querySelector('.chat-last').classList.toggle('is-draft', !!d.draft);
  li.querySelector('.chat-time').textContent = last ? fmtTime(last.ts) : '';
  const u = li.querySelector('.chat-unread');
  u.textContent = d.unread > 0 ? String(d.unread) : '';
  u.hidden = d.unread === 0;
  li.setAttribute('aria-label', `${clientName(d.client)}, ${lineName(d.line)}${d.unread ? `, ${d.unread} unread` : ''}${isReadOnly(d) ? ', closed' : ''}`);
}

function threadNearBottom() {
  const s = $('thread-scroll');
  return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
}

function scrollThreadToBottom() {
  const s = $('thread-scroll');
  s.scrollTop = s.scrollHeight;
}

function renderThread(force) {
  const d = S.dialogs.get(S.selected);
  const stick = force || threadNearBottom();
  $('thread-empty').hidden = !!d;
  $('thread-actions').hidden = !d;
  if (!d) {
    $('thread-title').textContent = 'No chat selected';
    $('thread-sub').textContent = '';
    $('thread').replaceChildren();
    $('older-btn').hidden = true;
    renderDraft();
    updateComposer();
    return;
  }
  $('thread-title').textContent = clientName(d.client);
  const stateText = { offered: 'offer — accept to answer', active: 'open', closing: 'closing', closed: 'closed', revoked: 'no longer yours', transferred: 'transferred' }[d.state] || d.state;
  $('thread-sub').textContent = `${lineName(d.line)} · #${d.id} · ${stateText}`;

  const items = Array.from(d.msgs.values()).sort((a, b) => a.seq - b.seq || a.msg_id - b.msg_id).map((m) => ({ key: 'm' + m.msg_id, m }));
  for (const it of d.outbox) items.push({ key: 'p' + it.cmid, p: it });
  if (d.rating) items.push({ key: 'rating', info: `Client rating: ${d.rating.score}${d.rating.comment ? ' — “' + d.rating.comment + '”' : ''}` });
  if (d.note && isReadOnly(d)) items.push({ key: 'note', info: d.note });
  reconcile($('thread'), items, (x) => x.key, createThreadItem, (node, x) => updateThreadItem(node, x, d));
  // consecutive messages of one author within 3 minutes are grouped (one name line)
  const lis = Array.from($('thread').children);
  const same = (a, b) => !!a && !!b && !!a.dataset.author && a.dataset.author === b.dataset.author && Math.abs(Number(b.dataset.ts || 0) - Number(a.dataset.ts || 0)) < 180000;
  lis.forEach((li, i) => {
    li.classList.toggle('cont', same(lis[i - 1], li));
    li.classList.toggle('more', same(li, lis[i + 1]) && li.dataset.status === 'sent');
  });

  const older = $('older-btn');
  older.hidden = d.olderDone || minSeq(d) <= 1;
  older.disabled = !!d.loadingOlder;
  older.textContent = d.loadingOlder ? 'Loading…' : 'Load older messages';

  // actions
  $('accept-current').hidden = d.state !== 'offered';
  $('decline-current').hidden = d.state !== 'offered';
  $('transfer-btn').hidden = !isMine(d);
  $('close-btn').hidden = !(isMine(d));
  $('dismiss-btn').hidden = !isReadOnly(d);
  renderRate(d);
  renderDraft();
  updateComposer();
  if (stick) scrollThreadToBottom();
}

function createThreadItem(x) {
  if (x.info !== undefined) return el('li', { class: 'msg-info', 'data-testid': 'thread-note' });
  const li = el('li', { class: 'msg', 'data-testid': 'message' },
    el('div', { class: 'msg-bubble' }, el('div', { class: 'msg-text', 'data-testid': 'message-text' })),
    el('div', { class: 'msg-meta' }, el('span', { class: 'msg-who' }), el('time', { class: 'msg-time' }), el('span', { class: 'msg-status' })));
  return li;
}

function updateThreadItem(li, x, d) {
  if (x.info !== undefined) { li.textContent = x.info; return; }
  const m = x.m || { author: 'operator', text: x.p.text, ts: x.p.ts, name: S.me && S.me.name };
  li.className = 'msg author-' + m.author;
  li.dataset.author = m.author;
  li.dataset.ts = m.ts || 0;
  if (x.m) { li.dataset.msgId = m.msg_id; li.dataset.seq = m.seq; li.dataset.status = 'sent'; } else { li.dataset.status = x.p.status; delete li.dataset.msgId; }
  // Message text is only ever set as text, never parsed as HTML.
  const t = li.querySelector('.msg-text');
  if (t.textContent !== m.text) t.textContent = m.text;
  const who = m.author === 'client' ? clientName(d.client) : m.author === 'operator' ? (m.name || 'Operator') : m.author === 'bot' ? (m.name || 'Bot') : 'System';
  li.querySelector('.msg-who').textContent = who;
  const time = li.querySelector('.msg-time');
  time.textContent = fmtTime(m.ts);
  if (m.ts) time.setAttribute('datetime', new Date(m.ts).toISOString());
  const st = li.querySelector('.msg-status');
  st.replaceChildren();
  if (x.p && x.p.status === 'sending') st.textContent = S.authed ? 'sending…' : 'waiting for the connection…';
  else if (x.p && x.p.status === 'failed') {
    st.append(el('span', { class: 'failed', text: 'not sent' }), ' ',
      el('button', { type: 'button', class: 'link', text: 'retry', onclick: () => retryItem(d, x.p) }));
  } else if (m.author === 'operator') {
    st.append(el('button', { type: 'button', class: 'link msg-action', 'data-testid': 'msg-save-qa', title: 'Save this text as a quick answer', text: 'save as quick answer', onclick: () => saveQuickAnswer(m.text) }));
  }
}

function renderRate(d) {
  const box = $('rate-control');
  const show = !!(S.me && S.me.supervisor) && (d.state === 'active' || d.state === 'offered' || d.state === 'closing');
  box.hidden = !show;
  if (!show) return;
  if (!box.firstChild) {
    box.append(el('span', { class: 'rate-label', text: 'Score' }));
    for (let i = 1; i <= 5; i++) {
      box.append(el('button', { type: 'button', class: 'rate-btn', 'data-testid': 'rate-' + i, 'data-score': i, 'aria-label': `Supervisor score ${i} of 5`, onclick: () => rateDialog(S.selected, i) }, String(i)));
    }
  }
  for (const b of box.querySelectorAll('.rate-btn')) b.setAttribute('aria-pressed', String(Number(b.dataset.score) === d.supScore));
}

function renderDraft() {
  const d = S.dialogs.get(S.selected);
  const show = !!(d && d.draft && !isReadOnly(d));
  $('draft-preview').hidden = !show;
  $('draft-text').textContent = show ? d.draft : '';
}

function updateComposer() {
  const d = S.dialogs.get(S.selected);
  const input = $('composer-input');
  const enabled = !!d && !isReadOnly(d);
  input.disabled = !enabled;
  $('send-btn').disabled = !enabled || !input.value.trim();
  $('save-qa-btn').disabled = !input.value.trim() || input.value.startsWith('/');
  $('composer-note').textContent = !d ? '' : d.state === 'offered' ? 'Answering takes the chat.' : isReadOnly(d) ? 'This chat is closed.' : S.authed ? '' : 'Offline: messages are sent when the connection is back.';
}

function renderClient() {
  const d = S.dialogs.get(S.selected);
  const c = (d && d.client) || {};
  const set = (f, v) => { $('client-details').querySelector(`[data-field="${f}"]`).textContent = v || '–'; };
  set('name', c.name);
  set('email', c.email);
  set('phone', c.phone);
  set('client_id', c.client_id);
  set('line', d ? lineName(d.line) : '');
  set('dialog', d ? '#' + d.id : '');
  contactCard.show(d);
  const earlier = d && c.client_id ? Array.from(S.dialogs.values()).filter((x) => x.id !== d.id && x.client && x.client.client_id === c.client_id) : [];
  $('earlier-list').replaceChildren(...earlier.map((x) => el('li', {}, el('button', { type: 'button', class: 'link', text: `#${x.id} · ${lineName(x.line)} · ${x.state}`, onclick: () => select(x.id) }))));
  $('earlier-empty').hidden = earlier.length > 0;
}

function lineName(id) {
  const l = S.directory && (S.directory.lines || []).find((x) => x.id === id);
  return l ? l.name : id || '';
}

function operatorName(id) {
  const o = S.directory && (S.directory.operators || []).find((x) => x.id === id);
  return o ? o.name : id;
}

// ---------------------------------------------------------------------------------------------
// Quick answers popup

function openQuickAnswers(filter) {
  const q = filter.trim().toLowerCase();
  const items = S.quickAnswers.filter((it) => !q || it.text.toLowerCase().includes(q) || String(it.id).toLowerCase().includes(q));
  S.qa.open = true;
  S.qa.items = items;
  S.qa.index = Math.min(S.qa.index, Math.max(0, items.length - 1));
  $('qa-popup').hidden = false;
  $('composer-input').setAttribute('aria-expanded', 'true');
  const list = $('qa-list');
  list.replaceChildren(...items.map((it, i) => el('li', {
    id: 'qa-item-' + i, class: 'qa-item', role: 'option', 'data-testid': 'qa-item', 'data-qa-id': it.id, 'aria-selected': String(i === S.qa.index),
    onmousedown: (e) => { e.preventDefault(); insertQuickAnswer(i); },
  }, el('span', { class: 'qa-text', text: it.text }), el('span', { class: 'qa-id', text: it.id }))));
  if (!items.length) list.append(el('li', { class: 'qa-empty', text: S.quickAnswers.length ? 'No quick answer matches.' : 'No quick answers for your lines.' }));
  if (items.length) $('composer-input').setAttribute('aria-activedescendant', 'qa-item-' + S.qa.index);
  const cur = list.children[S.qa.index];
  if (cur && cur.scrollIntoView) cur.scrollIntoView({ block: 'nearest' });
}

function closeQuickAnswers() {
  S.qa.open = false;
  S.qa.index = 0;
  $('qa-popup').hidden = true;
  $('composer-input').setAttribute('aria-expanded', 'false');
  $('composer-input').removeAttribute('aria-activedescendant');
}

function insertQuickAnswer(i) {
  const it = S.qa.items[i];
  if (!it) return;
  const input = $('composer-input');
  input.value = it.text;
  closeQuickAnswers();
  input.focus();
  input.setSelectionRange(input.value.length, input.value.length);
  updateComposer();
}

// ---------------------------------------------------------------------------------------------
// Transfer dialog

function openTransfer() {
  const d = S.dialogs.get(S.selected);
  if (!d || !isMine(d)) return;
  const dlg = $('transfer-dialog');
  fillTransferTargets();
  dlg.showModal();
  ($('transfer-target').hidden ? $('transfer-target-text') : $('transfer-target')).focus();
  // refresh presences while the dialog is open, keeping the choice
  loadDirectory().then(() => {
    if (!dlg.open) return;
    const keep = $('transfer-target').value;
    fillTransferTargets();
    if (keep && Array.from($('transfer-target').options).some((o) => o.value === keep)) $('transfer-target').value = keep;
  });
}

function fillTransferTargets() {
  const kind = $('transfer-form').elements.kind.value;
  const sel = $('transfer-target');
  const txt = $('transfer-target-text');
  const dir = S.directory;
  let options = [];
  if (dir) {
    if (kind === 'line') options = (dir.lines || []).map((l) => ({ value: l.id, label: `${l.name} (${l.id})` }));
    else {
      const rank = { online: 0, away: 1, offline: 2 };
      options = (dir.operators || []).filter((o) => !S.me || o.id !== S.me.id)
        .sort((a, b) => (rank[a.presence] ?? 3) - (rank[b.presence] ?? 3) || a.name.localeCompare(b.name))
        .map((o) => ({ value: o.id, label: `${o.name}${o.title ? ', ' + o.title : ''} — ${o.presence || 'unknown'}` }));
    }
  }
  sel.replaceChildren(...options.map((o) => el('option', { value: o.value, text: o.label })));
  sel.hidden = !options.length;
  txt.hidden = options.length > 0;
  $('transfer-hint').textContent = dir ? '' : 'The directory is unavailable: type the operator or line id.';
}

// ---------------------------------------------------------------------------------------------
// Contact card (contact_card.js)

const contactCard = createContactCard({
  root: $('contact-card'),
  request,
  el,
  fmtTime,
  operatorName,
  operators: () => S.directory && S.directory.operators,
  onChanged: () => { renderLists(); },
});

// ---------------------------------------------------------------------------------------------
// Supervisor board

const board = createBoard({
  api,
  fmtDuration,
  el,
  rate: (id, score) => rateDialog(id, score),
  onUnauthorized: (msg) => signOut(msg),
  onData: (data) => {
    // the board knows the supervisor's own workday; show it in the top bar
    const me = S.me && (data.operators || []).find((o) => o.id === S.me.id);
    if (me && me.workday) { S.workday = String(me.workday).replace(/_/g, ' '); renderMe(); }
  },
  onForbidden: () => { if (S.me) S.me.supervisor = false; renderMe(); showView('chats'); toast('The board is for supervisors.', 'error'); },
});

// ---------------------------------------------------------------------------------------------
// Wiring

function wire() {
  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const token = $('login-token').value.trim();
    if (!token) return;
    unlockAudio();
    askNotificationPermission();
    signIn(token);
  });
  $('signout-btn').addEventListener('click', () => signOut(''));
  $('tab-chats').addEventListener('click', () => showView('chats'));
  $('tab-board').addEventListener('click', () => showView('board'));
  $('presence-select').addEventListener('change', (e) => setPresence(e.target.value));
  for (const b of document.querySelectorAll('[data-workday]')) b.addEventListener('click', () => setWorkday(b.dataset.workday));
  $('notify-btn').addEventListener('click', () => {
    unlockAudio();
    if (!('Notification' in window)) { toast('This browser has no desktop notifications.', 'info'); return; }
    if (Notification.permission === 'default') Notification.requestPermission().then(updateNotifyButton, () => {});
    else toast($('notify-btn').title + '.', 'info', 3000);
  });
  $('help-btn').addEventListener('click', () => $('help-dialog').showModal());
  $('help-close').addEventListener('click', () => $('help-dialog').close());
  $('older-btn').addEventListener('click', loadOlder);
  // the chat list is a listbox: arrows move, Home / End jump
  $('chat-list').addEventListener('keydown', (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const chats = chatOrder();
    if (!chats.length) return;
    const i = chats.findIndex((d) => d.id === S.selected);
    let next = null;
    if (e.key === 'ArrowDown') next = chats[Math.min(chats.length - 1, i + 1)];
    else if (e.key === 'ArrowUp') next = chats[Math.max(0, i - 1)];
    else if (e.key === 'Home') next = chats[0];
    else if (e.key === 'End') next = chats[chats.length - 1];
    if (!next) return;
    e.preventDefault();
    select(next.id);
    const li = $('chat-list').querySelector(`[data-dialog-id="${next.id}"]`);
    if (li) li.focus();
  });
  $('thread-scroll').addEventListener('scroll', () => { if ($('thread-scroll').scrollTop < 30 && !$('older-btn').hidden) loadOlder(); }, { passive: true });
  $('accept-current').addEventListener('click', () => accept(S.selected));
  $('decline-current').addEventListener('click', () => decline(S.selected));
  $('close-btn').addEventListener('click', () => closeChat(S.selected));
  $('dismiss-btn').addEventListener('click', () => dismiss(S.selected));
  $('transfer-btn').addEventListener('click', openTransfer);
  $('transfer-cancel').addEventListener('click', () => $('transfer-dialog').close());
  for (const r of $('transfer-form').elements.kind) r.addEventListener('change', fillTransferTargets);
  $('transfer-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const kind = $('transfer-form').elements.kind.value;
    const target = $('transfer-target').hidden ? $('transfer-target-text').value.trim() : $('transfer-target').value;
    $('transfer-dialog').close();
    if (target) transfer(S.selected, kind, target);
  });
  $('save-qa-btn').addEventListener('click', () => saveQuickAnswer($('composer-input').value));

  const input = $('composer-input');
  $('composer').addEventListener('submit', (e) => { e.preventDefault(); sendMessage(); });
  input.addEventListener('input', () => {
    const d = S.dialogs.get(S.selected);
    if (d) d.composeDraft = input.value;
    if (input.value.startsWith('/') && !input.value.includes('\n')) openQuickAnswers(input.value.slice(1));
    else if (S.qa.open) closeQuickAnswers();
    if (input.value.trim() && !input.value.startsWith('/')) sendTyping();
    updateComposer();
  });
  input.addEventListener('keydown', (e) => {
    if (S.qa.open) {
      const n = S.qa.items.length;
      if (e.key === 'ArrowDown' && n) { e.preventDefault(); S.qa.index = (S.qa.index + 1) % n; openQuickAnswers(input.value.slice(1)); return; }
      if (e.key === 'ArrowUp' && n) { e.preventDefault(); S.qa.index = (S.qa.index - 1 + n) % n; openQuickAnswers(input.value.slice(1)); return; }
      if ((e.key === 'Enter' || e.key === 'Tab') && n && !e.shiftKey) { e.preventDefault(); insertQuickAnswer(S.qa.index); return; }
      if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); closeQuickAnswers(); return; }
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && !e.altKey && !e.ctrlKey && !e.metaKey) { e.preventDefault(); sendMessage(); }
  });
  input.addEventListener('blur', () => setTimeout(() => { if (document.activeElement !== input) closeQuickAnswers(); }, 150));

  document.addEventListener('keydown', onShortcut);
  document.addEventListener('pointerdown', unlockAudio, { passive: true });
  document.addEventListener('keydown', unlockAudio, { passive: true });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) {
      S.bgEvents = 0;
      const d = S.dialogs.get(S.selected);
      if (d && viewIsChats()) d.unread = 0;
      render();
    }
  });
  window.addEventListener('focus', () => { S.bgEvents = 0; updateTitle(); });
  window.addEventListener('online', () => {
    if (S.signedOut) return;
    if (!S.ws) connect();
    else probeConnection(5000);
  });
  window.addEventListener('offline', () => { if (!S.signedOut) setConn('offline', 'Offline — waiting for the network'); });
  setInterval(() => {
    updateCountdowns();
    checkLiveness();
    if (S.reconnectTimer && navigator.onLine) setConn('reconnecting', `Reconnecting in ${Math.max(0, Math.ceil((S.reconnectAt - Date.now()) / 1000))} s…`);
    // a client's draft older than 30 s is stale
    for (const d of S.dialogs.values()) if (d.draft && d.draftAt && Date.now() - d.draftAt > 30000) { d.draft = ''; if (S.selected === d.id) renderDraft(); }
    // closed chats leave the list 15 minutes after closing unless they are open on screen
    let pruned = false;
    for (const d of Array.from(S.dialogs.values())) if (d.closedAt && Date.now() - d.closedAt > 900000 && S.selected !== d.id) { S.dialogs.delete(d.id); pruned = true; }
    if (pruned) renderLists();
  }, 1000);
  updateNotifyButton();
}

function onShortcut(e) {
  if (S.signedOut) return;
  const inField = e.target && (e.target.tagName === 'TEXTAREA' || e.target.tagName === 'INPUT' || e.target.tagName === 'SELECT');
  if (e.key === 'Escape') {
    if (S.qa.open) { closeQuickAnswers(); return; }
    return; // <dialog> closes itself on Esc
  }
  if (!e.altKey && !e.ctrlKey && !e.metaKey && e.key === '?' && !inField) { e.preventDefault(); $('help-dialog').showModal(); return; }
  if (!e.altKey || e.ctrlKey || e.metaKey) return;
  const chats = chatOrder();
  const i = chats.findIndex((d) => d.id === S.selected);
  switch (e.code) {
    case 'KeyA': { const o = oldestOffer(); if (o) accept(o.id); break; }
    case 'KeyD': { const o = oldestOffer(); if (o) decline(o.id); break; }
    case 'ArrowUp': if (chats.length) select(chats[i <= 0 ? chats.length - 1 : i - 1].id); break;
    case 'ArrowDown': if (chats.length) select(chats[i < 0 || i >= chats.length - 1 ? 0 : i + 1].id); break;
    case 'KeyC': if (S.selected != null) closeChat(S.selected); break;
    case 'KeyT': openTransfer(); break;
    case 'KeyM': $('composer-input').focus(); break;
    case 'KeyO': setPresence(S.presence === 'online' ? 'away' : 'online'); break;
    case 'KeyB': if (S.me && S.me.supervisor) showView(viewIsChats() ? 'board' : 'chats'); break;
    default: return;
  }
  e.preventDefault();
}

function start() {
  wire();
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) signIn(token);
  else { $('login-view').hidden = false; $('login-token').focus(); }
}

// Exposed for debugging and tests (read-only use).
window.switchboardConsole = { state: S, wsUrl, handleFrame };

start();
