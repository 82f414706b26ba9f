/*! Switchboard chat widget. Embed with one tag:
 *  <script src="https://HOST/widget.js" data-line="support" async></script>
 * Optional: data-lang (en, de, ru), data-color (#1f6feb), data-title, data-open ("true"),
 * data-identity-external-id / -email / -name / -hmac (a verified identity the site signs).
 * Everything is drawn inside a Shadow DOM; message text is always rendered as text. The visitor's
 * client id, resume token and unsent messages are kept in localStorage, so a reload or a lost
 * connection never loses or doubles a message: unacknowledged messages are sent again with the
 * same client_msg_id, and the thread resumes from the last seq seen. */
(() => {
  'use strict';
  const script = document.currentScript;
  if (!script || !script.dataset.line || window.__switchboardWidget) return;
  window.__switchboardWidget = true;

  const TEXTS = {
    en: {
      title: 'Chat with us', open: 'Open chat', minimize: 'Minimize chat', end: 'End chat',
      placeholder: 'Write a message…', send: 'Send', sending: 'Sending…', failed: 'Not sent',
      connecting: 'Connecting…', reconnecting: 'Connection lost, reconnecting…', online: 'We reply here',
      offHours: 'We are offline now. Leave a message and we will answer when we are back.',
      typing: '{name} is typing…', someone: 'Operator', joined: '{name} joined the chat',
      closed: 'The chat has ended.', newChat: 'Start a new chat',
      rateQ: 'How was this conversation?', like: 'Good', dislike: 'Bad',
      comment: 'Anything to add? (optional)', rateSend: 'Send rating', thanks: 'Thank you for your feedback!',
      accept: 'Accept', decline: 'Decline', consentNeeded: 'Please accept the notice above to write to us.',
      prechat: 'Before we start, tell us how to reach you.', name: 'Your name', email: 'Email',
      phone: 'Phone', start: 'Start chat', required: 'Please fill in this field.',
      you: 'You', unread: '{n} new messages', refused: 'This chat is not available on this page.',
      tooLong: 'The message is too long.', slowDown: 'Too many messages at once; sending again shortly.',
      confirmEnd: 'End this chat?', yes: 'Yes, end it', no: 'No',
    },
    de: {
      title: 'Chatten Sie mit uns', open: 'Chat öffnen', minimize: 'Chat minimieren', end: 'Chat beenden',
      placeholder: 'Nachricht schreiben…', send: 'Senden', sending: 'Wird gesendet…', failed: 'Nicht gesendet',
      connecting: 'Verbinde…', reconnecting: 'Verbindung verloren, verbinde neu…', online: 'Wir antworten hier',
      offHours: 'Wir sind gerade nicht erreichbar. Hinterlassen Sie eine Nachricht, wir antworten später.',
      typing: '{name} schreibt…', someone: 'Mitarbeiter', joined: '{name} ist dem Chat beigetreten',
      closed: 'Der Chat wurde beendet.', newChat: 'Neuen Chat beginnen',
      rateQ: 'Wie war das Gespräch?', like: 'Gut', dislike: 'Schlecht',
      comment: 'Möchten Sie etwas ergänzen? (optional)', rateSend: 'Bewertung senden', thanks: 'Danke für Ihr Feedback!',
      accept: 'Zustimmen', decline: 'Ablehnen', consentNeeded: 'Bitte stimmen Sie dem Hinweis oben zu, um zu schreiben.',
      prechat: 'Bevor wir beginnen: Wie erreichen wir Sie?', name: 'Ihr Name', email: 'E-Mail',
      phone: 'Telefon', start: 'Chat starten', required: 'Bitte füllen Sie dieses Feld aus.',
      you: 'Sie', unread: '{n} neue Nachrichten', refused: 'Dieser Chat ist auf dieser Seite nicht verfügbar.',
      tooLong: 'Die Nachricht ist zu lang.', slowDown: 'Zu viele Nachrichten auf einmal; wird gleich erneut gesendet.',
      confirmEnd: 'Diesen Chat beenden?', yes: 'Ja, beenden', no: 'Nein',
    },
    ru: {
      title: 'Напишите нам', open: 'Открыть чат', minimize: 'Свернуть чат', end: 'Завершить чат',
      placeholder: 'Напишите сообщение…', send: 'Отправить', sending: 'Отправляется…', failed: 'Не отправлено',
      connecting: 'Подключение…', reconnecting: 'Связь потеряна, переподключаемся…', online: 'Мы отвечаем здесь',
      offHours: 'Сейчас мы не на связи. Оставьте сообщение, и мы ответим позже.',
      typing: '{name} печатает…', someone: 'Оператор', joined: '{name} подключился к чату',
      closed: 'Чат завершён.', newChat: 'Начать новый чат',
      rateQ: 'Как прошёл разговор?', like: 'Хорошо', dislike: 'Плохо',
      comment: 'Хотите что-то добавить? (необязательно)', rateSend: 'Отправить оценку', thanks: 'Спасибо за отзыв!',
      accept: 'Принять', decline: 'Отклонить', consentNeeded: 'Чтобы написать нам, примите условия выше.',
      prechat: 'Перед началом расскажите, как с вами связаться.', name: 'Ваше имя', email: 'Эл. почта',
      phone: 'Телефон', start: 'Начать чат', required: 'Заполните это поле.',
      you: 'Вы', unread: 'Новых сообщений: {n}', refused: 'Этот чат недоступен на этой странице.',
      tooLong: 'Сообщение слишком длинное.', slowDown: 'Слишком много сообщений сразу; отправим чуть позже.',
      confirmEnd: 'Завершить этот чат?', yes: 'Да, завершить', no: 'Нет',
    },
  };

  const data = script.dataset;
  const lang = TEXTS[(data.lang || navigator.language || 'en').slice(0, 2).toLowerCase()] ? (data.lang || navigator.language).slice(0, 2).toLowerCase() : 'en';
  const T = TEXTS[lang];
  const t = (key, vars) => T[key].replace(/\{(\w+)\}/g, (_, k) => (vars && vars[k] != null ? vars[k] : ''));
  const color = /^#[0-9a-f]{3,8}$/i.test(data.color || '') ? data.color : '#1f6feb';
  const server = new URL(script.src, location.href);
  const socketUrl = (server.protocol === 'https:' ? 'wss://' : 'ws://') + server.host + '/ws/widget';
  const storeKey = 'switchboard:' + server.host + ':' + data.line;
  const identity = ['externalId', 'email', 'name', 'hmac'].reduce((acc, k) => {
    const v = data['identity' + k[0].toUpperCase() + k.slice(1)];
    if (v) acc[k === 'externalId' ? 'external_id' : k] = v;
    return acc;
  }, {});

  // ---- durable state (localStorage) -------------------------------------------------------
  const saved = (() => { try { return JSON.parse(localStorage.getItem(storeKey)) || {}; } catch { return {}; } })();
  const state = {
    clientId: saved.clientId || null,
    token: saved.token || null,
    profile: saved.profile || null,
    pending: Array.isArray(saved.pending) ? saved.pending : [], // [{id, text, ts}]
    dialog: null,
    lastSeq: 0,
    seen: new Set(),
    unread: 0,
    open: data.open === 'true' || saved.open === true,
    consentBlocked: false,
    prechat: [],
  };
  const persist = () => {
    try {
      localStorage.setItem(storeKey, JSON.stringify({
        clientId: state.clientId, token: state.token, profile: state.profile,
        pending: state.pending, open: state.open,
      }));
    } catch { /* private mode: the chat still works for this page */ }
  };
  const randomId = () => (crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2));

  // ---- DOM ---------------------------------------------------------------------------------
  const host = document.createElement('div');
  host.id = 'switchboard-widget';
  const root = host.attachShadow({ mode: 'open' });
  const css = `
:host{all:initial}
*{box-sizing:border-box;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
.launcher{position:fixed;right:20px;bottom:20px;width:58px;height:58px;border-radius:50%;border:0;background:var(--c);color:#fff;cursor:pointer;box-shadow:0 4px 16px rgba(0,0,0,.25);z-index:2147483000;display:flex;align-items:center;justify-content:center}
.launcher:focus-visible,button:focus-visible,textarea:focus-visible,input:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}
.launcher svg{width:28px;height:28px}
.badge{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;background:#d1242f;color:#fff;font-size:12px;font-weight:700;line-height:22px;text-align:center}
.badge[hidden],[hidden]{display:none!important}
.panel{position:fixed;right:20px;bottom:90px;width:370px;height:min(580px,calc(100vh - 110px));background:#fff;color:#1f2328;border-radius:14px;box-shadow:0 8px 40px rgba(0,0,0,.28);display:flex;flex-direction:column;overflow:hidden;z-index:2147483001;font-size:14px}
header{background:var(--c);color:#fff;padding:12px 12px 12px 16px;display:flex;align-items:center;gap:10px}
.avatar{width:36px;height:36px;border-radius:50%;background:rgba(255,255,255,.25);display:flex;align-items:center;justify-content:center;font-weight:700;overflow:hidden;flex:none}
.avatar img{width:100%;height:100%;object-fit:cover}
.who{flex:1;min-width:0}
.who h2{margin:0;font-size:15px;font-weight:650;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.who p{margin:2px 0 0;font-size:12px;opacity:.9}
header button{background:transparent;border:0;color:#fff;cursor:pointer;padding:6px;border-radius:6px;font-size:13px}
header button:hover{background:rgba(255,255,255,.18)}
.log{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:8px;background:#f6f8fa}
.msg{max-width:82%;padding:8px 12px;border-radius:14px;white-space:pre-wrap;overflow-wrap:anywhere;line-height:1.4}
.msg .meta{display:block;font-size:11px;opacity:.7;margin-top:3px}
.msg.client{align-self:flex-end;background:var(--c);color:#fff;border-bottom-right-radius:4px}
.msg.operator,.msg.bot{align-self:flex-start;background:#fff;border:1px solid #d0d7de;border-bottom-left-radius:4px}
.msg.system,.note{align-self:center;background:transparent;color:#57606a;font-size:12.5px;text-align:center;max-width:92%}
.msg.pending{opacity:.75}
.msg.failed{background:#ffebe9;color:#82071e}
.card{align-self:stretch;background:#fff;border:1px solid #d0d7de;border-radius:10px;padding:12px;display:flex;flex-direction:column;gap:8px}
.card p{margin:0}
.row{display:flex;gap:8px;flex-wrap:wrap}
.btn{border:1px solid var(--c);background:var(--c);color:#fff;border-radius:8px;padding:8px 12px;cursor:pointer;font-size:14px}
.btn.alt{background:#fff;color:var(--c)}
.btn[aria-pressed=true]{box-shadow:inset 0 0 0 2px #1f2328}
input,textarea{font-size:16px;border:1px solid #d0d7de;border-radius:8px;padding:8px 10px;width:100%;color:#1f2328;background:#fff}
label{font-size:12.5px;color:#57606a;display:flex;flex-direction:column;gap:4px}
.typing{font-size:12px;color:#57606a;padding:0 16px 4px;min-height:18px;background:#f6f8fa}
.status{font-size:12px;color:#9a6700;background:#fff8c5;padding:6px 12px;text-align:center}
footer{display:flex;gap:8px;padding:10px;border-top:1px solid #d0d7de;background:#fff;align-items:flex-end}
footer textarea{resize:none;max-height:120px;min-height:42px;line-height:1.35}
footer .btn{height:42px}
@media (max-width:480px){.panel{right:0;bottom:0;width:100vw;height:100dvh;border-radius:0}.launcher{right:14px;bottom:14px}}
@media (prefers-reduced-motion:no-preference){.panel{animation:up .16s ease-out}@keyframes up{from{transform:translateY(12px);opacity:0}}}
`;
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } catch {
    const style = document.createElement('style');
    style.textContent = css;
    root.appendChild(style);
  }
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === 'on') for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
      else if (k === 'text') node.textContent = v;
      else node.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children) if (c != null) node.append(c);
    return node;
  };
  const icon = () => {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('fill', 'currentColor');
    path.setAttribute('d', 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z');
    svg.append(path);
    return svg;
  };

  const badge = el('span', { class: 'badge', hidden: true, 'aria-hidden': 'true' });
  const launcher = el('button', { class: 'launcher', type: 'button', 'aria-label': t('open'), 'aria-expanded': 'false', 'data-testid': 'launcher' }, icon(), badge);
  const avatar = el('div', { class: 'avatar', 'aria-hidden': 'true' });
  const title = el('h2', { id: 'sb-title', text: data.title || t('title') });
  const subtitle = el('p', { text: t('connecting'), 'data-testid': 'subtitle' });
  const endButton = el('button', { type: 'button', text: t('end'), hidden: true, 'data-testid': 'end' });
  const minButton = el('button', { type: 'button', 'aria-label': t('minimize'), text: '✕', 'data-testid': 'minimize' });
  const status = el('div', { class: 'status', role: 'status', hidden: true, 'data-testid': 'status' });
  const log = el('div', { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': t('title'), tabindex: '0', 'data-testid': 'log' });
  const typing = el('div', { class: 'typing', 'aria-live': 'polite', 'data-testid': 'typing' });
  const input = el('textarea', { rows: '1', placeholder: t('placeholder'), 'aria-label': t('placeholder'), maxlength: '4000', 'data-testid': 'input' });
  const sendButton = el('button', { class: 'btn', type: 'button', text: t('send'), 'data-testid': 'send' });
  const panel = el('section', { class: 'panel', role: 'dialog', 'aria-labelledby': 'sb-title', hidden: true, 'data-testid': 'panel' },
    el('header', null, avatar, el('div', { class: 'who' }, title, subtitle), endButton, minButton),
    status, log, typing, el('footer', null, input, sendButton));
  panel.style.setProperty('--c', color);
  launcher.style.setProperty('--c', color);
  root.append(panel, launcher);
  avatar.textContent = (data.title || t('title')).trim()[0] || '?';

  // ---- rendering ---------------------------------------------------------------------------
  const scrollDown = () => { log.scrollTop = log.scrollHeight; };
  const note = (text, testid) => { log.append(el('div', { class: 'note', text, 'data-testid': testid || 'note' })); scrollDown(); };
  const time = (ts) => new Date(ts).toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit' });
  const bubbles = new Map(); // client_msg_id -> element

  function showMessage(m) {
    if (m.seq && state.seen.has(m.seq)) return;
    if (m.seq) {
      state.seen.add(m.seq);
      state.lastSeq = Math.max(state.lastSeq, m.seq);
    }
    const who = m.author === 'client' ? t('you') : (m.name || (m.author === 'system' ? '' : t('someone')));
    const node = el('div', { class: 'msg ' + m.author, 'data-seq': m.seq, 'data-testid': 'message' });
    node.append(document.createTextNode(m.text));
    if (m.author !== 'system') node.append(el('span', { class: 'meta', text: who + ' · ' + time(m.ts) }));
    log.append(node);
    scrollDown();
    if (m.author !== 'client') noteUnread();
  }

  function showPending(p) {
    const node = el('div', { class: 'msg client pending', 'data-testid': 'message', 'data-pending': 'true' });
    node.append(document.createTextNode(p.text), el('span', { class: 'meta', text: t('sending') }));
    log.append(node);
    bubbles.set(p.id, node);
    scrollDown();
  }

  function markSent(id, seq, ts) {
    const node = bubbles.get(id);
    bubbles.delete(id);
    if (!node) return;
    if (seq && state.seen.has(seq)) { node.remove(); return; } // the replay already showed it
    if (seq) { state.seen.add(seq); state.lastSeq = Math.max(state.lastSeq, seq); node.dataset.seq = seq; }
    node.classList.remove('pending');
    node.removeAttribute('data-pending');
    node.querySelector('.meta').textContent = t('you') + ' · ' + time(ts || Date.now());
  }

  function setOperator(op) {
    if (!op) return;
    title.textContent = op.name;
    avatar.textContent = '';
    if (op.avatar && /^https?:|^data:image\//.test(op.avatar)) avatar.append(el('img', { src: op.avatar, alt: '' }));
    else avatar.textContent = op.name.trim()[0] || '?';
    subtitle.textContent = op.title || t('online');
  }

  function setStatus(text) {
    status.textContent = text || '';
    status.hidden = !text;
  }

  function noteUnread() {
    if (state.open && document.visibilityState === 'visible') return;
    state.unread += 1;
    badge.textContent = String(state.unread);
    badge.hidden = false;
    launcher.setAttribute('aria-label', t('open') + ' – ' + t('unread', { n: state.unread }));
    if (!baseTitle) baseTitle = document.title;
    document.title = '(' + state.unread + ') ' + baseTitle;
  }
  let baseTitle = '';
  function clearUnread() {
    state.unread = 0;
    badge.hidden = true;
    launcher.setAttribute('aria-label', t('open'));
    if (baseTitle) { document.title = baseTitle; baseTitle = ''; }
  }

  // ---- connection --------------------------------------------------------------------------
  let socket = null;
  let connected = false;
  let retry = 0;
  let retryTimer = null;
  let req = 0;
  const inFlight = new Map(); // req -> {kind, id}
  let refused = false;
  let firstHello = true;

  function connect() {
    clearTimeout(retryTimer);
    if (refused || socket || !navigator.onLine) return;
    const ws = new WebSocket(socketUrl);
    socket = ws;
    subtitle.textContent = t('connecting');
    ws.onopen = () => {
      const hello = { type: 'hello', line: data.line, lang };
      if (state.token) hello.resume_token = state.token;
      else if (state.clientId) hello.client_id = state.clientId;
      // A fresh page asks for the whole open dialog; a reconnect only for what it missed.
      hello.last_seq = firstHello ? 0 : state.lastSeq;
      if (state.profile) Object.assign(hello, state.profile);
      if (identity.external_id) hello.identity = identity;
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch { return; }
      handle(frame);
    };
    ws.onclose = (event) => {
      if (socket !== ws) return;
      socket = null;
      connected = false;
      inFlight.clear();
      if (refused) return;
      setStatus(t('reconnecting'));
      schedule();
    };
  }

  function schedule() {
    clearTimeout(retryTimer);
    const delay = Math.min(15000, 500 * 2 ** retry) * (0.75 + Math.random() * 0.5);
    retry = Math.min(retry + 1, 6);
    retryTimer = setTimeout(connect, delay);
  }

  function drop() {
    // The browser says it is offline: the socket is as good as gone.
    if (socket) { const ws = socket; socket = null; connected = false; inFlight.clear(); ws.close(); }
    setStatus(t('reconnecting'));
  }

  function send(frame, kind, id) {
    if (!connected || !socket) return false;
    req += 1;
    frame.req = req;
    inFlight.set(req, { kind, id });
    socket.send(JSON.stringify(frame));
    return true;
  }

  function flushPending() {
    for (const p of state.pending) if (![...inFlight.values()].some((f) => f.id === p.id)) {
      if (!send({ type: 'message', client_msg_id: p.id, text: p.text }, 'message', p.id)) break;
    }
  }

  const handlers = {
    welcome(f) {
      connected = true;
      retry = 0;
      setStatus('');
      state.clientId = f.client_id;
      state.token = f.resume_token;
      state.prechat = f.prechat || [];
      if (!f.working_hours_open) note(t('offHours'), 'off-hours');
      if (f.dialog_id) { state.dialog = f.dialog_id; endButton.hidden = false; }
      else if (!firstHello && state.dialog) { state.dialog = null; }
      subtitle.textContent = t('online');
      title.textContent = data.title || f.line_name || t('title');
      if (f.operator) setOperator(f.operator);
      else avatar.textContent = title.textContent.trim()[0] || '?';
      firstHello = false;
      persist();
      if (state.prechat.length && !state.profile && !f.dialog_id && !state.pending.length) showPrechat();
      flushPending();
    },
    message(f) {
      if (f.dialog_id) { state.dialog = f.dialog_id; endButton.hidden = false; }
      showMessage(f);
      typing.textContent = '';
    },
    ack(f) {
      const sent = inFlight.get(f.req);
      inFlight.delete(f.req);
      if (!sent) return;
      if (sent.kind === 'message') {
        state.pending = state.pending.filter((p) => p.id !== sent.id);
        persist();
        if (f.dialog_id) { state.dialog = f.dialog_id; endButton.hidden = false; }
        markSent(sent.id, f.seq);
      } else if (sent.kind === 'close') {
        ended();
      }
    },
    error(f) {
      const sent = f.req != null ? inFlight.get(f.req) : null;
      if (f.req != null) inFlight.delete(f.req);
      if (f.code === 'unauthorized' && /resume token/.test(f.message)) {
        // The token is unknown here (a new server or a cleared store): start over with the id.
        state.token = null;
        persist();
        return;
      }
      if ((f.code === 'forbidden' || f.code === 'not_found') && !sent) { refused = true; subtitle.textContent = ''; setStatus(t('refused')); input.disabled = true; sendButton.disabled = true; return; }
      if (!sent) return;
      if (sent.kind === 'message') {
        if (f.code === 'consent_required') { state.consentBlocked = true; setStatus(t('consentNeeded')); return; }
        if (f.code === 'rate_limited' || f.code === 'internal') { setTimeout(flushPending, 1500); setStatus(t('slowDown')); return; }
        state.pending = state.pending.filter((p) => p.id !== sent.id);
        persist();
        const node = bubbles.get(sent.id);
        if (node) { node.classList.remove('pending'); node.classList.add('failed'); node.querySelector('.meta').textContent = t('failed') + ': ' + (f.code === 'too_large' ? t('tooLong') : f.message); }
        bubbles.delete(sent.id);
      } else if (sent.kind === 'close' && f.code === 'invalid_state') {
        ended();
      }
    },
    operator_typing() {
      typing.textContent = t('typing', { name: title.textContent || t('someone') });
      clearTimeout(handlers.typingTimer);
      handlers.typingTimer = setTimeout(() => { typing.textContent = ''; }, 4000);
    },
    operator_joined(f) {
      if (f.operator) { setOperator(f.operator); note(t('joined', { name: f.operator.name }), 'joined'); }
    },
    consent_request(f) { showConsent(f); },
    rating_request(f) { showRating(f.dialog_id); },
    dialog_closed(f) { if (!state.dialog || f.dialog_id === state.dialog) ended(); },
  };

  function handle(frame) {
    const fn = handlers[frame.type];
    if (fn) fn(frame);
  }

  // ---- flows -------------------------------------------------------------------------------
  function sendMessage() {
    const text = input.value.trim();
    if (!text || refused) return;
    if (state.consentBlocked) { setStatus(t('consentNeeded')); return; }
    if (text.length > 4000) { setStatus(t('tooLong')); return; }
    const p = { id: randomId(), text, ts: Date.now() };
    state.pending.push(p);
    persist();
    input.value = '';
    autosize();
    showPending(p);
    flushPending();
  }

  function showConsent(f) {
    const card = el('div', { class: 'card', role: 'group', 'data-testid': 'consent' });
    card.append(el('p', { text: f.text }));
    const answer = (accepted) => {
      send({ type: 'consent', accepted, version: f.version }, 'consent');
      state.consentBlocked = !accepted;
      setStatus(accepted ? '' : t('consentNeeded'));
      card.remove();
      if (accepted) flushPending();
    };
    card.append(el('div', { class: 'row' },
      el('button', { class: 'btn', type: 'button', text: t('accept'), on: { click: () => answer(true) } }),
      el('button', { class: 'btn alt', type: 'button', text: t('decline'), on: { click: () => answer(false) } })));
    log.append(card);
    scrollDown();
  }

  function showPrechat() {
    const card = el('form', { class: 'card', 'data-testid': 'prechat', novalidate: true });
    card.append(el('p', { text: t('prechat') }));
    const fields = {};
    for (const name of state.prechat) {
      const type = name === 'email' ? 'email' : name === 'phone' ? 'tel' : 'text';
      fields[name] = el('input', { name, type, required: true, autocomplete: name === 'name' ? 'name' : name });
      card.append(el('label', null, t(name), fields[name]));
    }
    card.append(el('div', { class: 'row' }, el('button', { class: 'btn', type: 'submit', text: t('start') })));
    card.addEventListener('submit', (e) => {
      e.preventDefault();
      const profile = {};
      for (const [name, field] of Object.entries(fields)) {
        if (!field.value.trim()) { field.setCustomValidity(t('required')); field.reportValidity(); return; }
        profile[name] = field.value.trim();
      }
      state.profile = profile;
      persist();
      card.remove();
      // Say hello again so the operator sees the details with the offer.
      if (socket) { const ws = socket; socket = null; connected = false; ws.close(); }
      connect();
      input.focus();
    });
    log.append(card);
    scrollDown();
    const first = Object.values(fields)[0];
    if (first) first.focus();
  }

  function showRating(dialogId) {
    const card = el('div', { class: 'card', role: 'group', 'aria-label': t('rateQ'), 'data-testid': 'rating' });
    let score = null;
    const pick = (value, button) => {
      score = value;
      for (const b of card.querySelectorAll('[aria-pressed]')) b.setAttribute('aria-pressed', 'false');
      button.setAttribute('aria-pressed', 'true');
    };
    const like = el('button', { class: 'btn alt', type: 'button', 'aria-pressed': 'false', text: '👍 ' + t('like'), 'data-testid': 'like' });
    const dislike = el('button', { class: 'btn alt', type: 'button', 'aria-pressed': 'false', text: '👎 ' + t('dislike'), 'data-testid': 'dislike' });
    like.addEventListener('click', () => pick('like', like));
    dislike.addEventListener('click', () => pick('dislike', dislike));
    const comment = el('textarea', { rows: '2', placeholder: t('comment'), 'aria-label': t('comment'), maxlength: '4000', 'data-testid': 'rating-comment' });
    const submit = el('button', { class: 'btn', type: 'button', text: t('rateSend'), 'data-testid': 'rate' });
    submit.addEventListener('click', () => {
      if (!score) { like.focus(); return; }
      const frame = { type: 'rate', dialog_id: dialogId, score };
      if (comment.value.trim()) frame.comment = comment.value.trim();
      send(frame, 'rate');
      card.replaceChildren(el('p', { text: t('thanks'), 'data-testid': 'thanks' }));
    });
    card.append(el('p', { text: t('rateQ') }), el('div', { class: 'row' }, like, dislike), comment, submit);
    log.append(card);
    scrollDown();
  }

  function ended() {
    if (!state.dialog && log.querySelector('[data-testid=closed]')) return;
    state.dialog = null;
    endButton.hidden = true;
    typing.textContent = '';
    const again = el('button', { class: 'btn alt', type: 'button', text: t('newChat'), 'data-testid': 'new-chat' });
    again.addEventListener('click', () => {
      log.replaceChildren();
      state.seen.clear();
      state.lastSeq = 0;
      title.textContent = data.title || t('title');
      avatar.textContent = title.textContent.trim()[0] || '?';
      subtitle.textContent = t('online');
      input.focus();
    });
    log.append(el('div', { class: 'note', 'data-testid': 'closed' }, t('closed') + ' ', again));
    scrollDown();
  }

  function confirmEnd() {
    if (!state.dialog || log.querySelector('[data-testid=confirm-end]')) return;
    const card = el('div', { class: 'card', 'data-testid': 'confirm-end' }, el('p', { text: t('confirmEnd') }));
    card.append(el('div', { class: 'row' },
      el('button', { class: 'btn', type: 'button', text: t('yes'), on: { click: () => { card.remove(); send({ type: 'close' }, 'close'); } } }),
      el('button', { class: 'btn alt', type: 'button', text: t('no'), on: { click: () => card.remove() } })));
    log.append(card);
    scrollDown();
  }

  // ---- typing drafts (throttled: the server passes on at most one per 100 ms) --------------
  let draftTimer = null;
  let draftSentAt = 0;
  function draft() {
    if (!state.dialog || !connected) return;
    const now = Date.now();
    const flush = () => {
      draftTimer = null;
      draftSentAt = Date.now();
      if (connected && socket && state.dialog) socket.send(JSON.stringify({ type: 'typing', text: input.value }));
    };
    if (now - draftSentAt >= 300) flush();
    else if (!draftTimer) draftTimer = setTimeout(flush, 300 - (now - draftSentAt));
  }

  function autosize() {
    input.style.height = 'auto';
    input.style.height = Math.min(120, input.scrollHeight + 2) + 'px';
  }

  // ---- panel -------------------------------------------------------------------------------
  function setOpen(open) {
    state.open = open;
    persist();
    panel.hidden = !open;
    launcher.setAttribute('aria-expanded', String(open));
    if (open) { clearUnread(); connect(); scrollDown(); setTimeout(() => input.focus(), 0); }
    else launcher.focus();
  }

  launcher.addEventListener('click', () => setOpen(panel.hidden));
  minButton.addEventListener('click', () => setOpen(false));
  endButton.addEventListener('click', confirmEnd);
  sendButton.addEventListener('click', () => { sendMessage(); input.focus(); });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendMessage(); }
  });
  input.addEventListener('input', () => { autosize(); draft(); });
  panel.addEventListener('keydown', (e) => { if (e.key === 'Escape') setOpen(false); });
  window.addEventListener('offline', drop);
  window.addEventListener('online', () => { retry = 0; connect(); });
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible' && state.open) clearUnread(); });

  const mount = () => {
    document.body.append(host);
    for (const p of state.pending) showPending(p);
    // Connect at once when a conversation may be going on, so its messages arrive (and count
    // as unread) even while the panel is closed.
    if (state.open) setOpen(true);
    else if (state.token) connect();
  };
  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount);
  window.Switchboard = { open: () => setOpen(true), close: () => setOpen(false) };
})();
