// The contact card beside the chat (chat tracker, docs/contacts.md): owns everything inside
// #contact-card — the linked contact (name, type, tags, responsible, emails, phones), its
// interaction log with the add form, the edit form (type / tags / responsible, with `conflict`
// answered by a reload), and for a chat without a contact: confirming an `unverified_match`,
// searching and linking by hand, creating a lead from the chat. Unlinking too.
// Talks only through the console's `request(frame)` (operator WebSocket frames `contact`,
// `interactions`, `add_interaction`, `update_contact`, `search_contacts`, `create_contact`,
// `link_contact`, `unlink_contact`). Every value from the server is rendered as text.

const INTERACTION_KINDS = ['note', 'call', 'meeting', 'email'];
const CONTACT_TYPES = ['cold', 'warm', 'hot'];

export function createContactCard({ root, request, el, fmtTime, operatorName, operators, onChanged }) {
  // contact id -> full contact; contact id -> {items, next_before, loading, error}
  const contacts = new Map();
  const logs = new Map();
  let shown = { dialogId: null, key: '' };
  let dialog = null;      // the dialog whose card is on screen
  let error = '';         // the last error, shown in contact-error
  let editing = false;
  let busy = false;
  let results = null;     // search results (full contacts) or null
  const tried = new Set(); // unverified candidates whose names were asked for

  const nameOf = (c) => {
    if (!c) return '';
    if (c.name) return c.name;
    const person = [c.first_name, c.last_name].filter(Boolean).join(' ');
    return person || c.company_name || `Contact #${c.id}`;
  };
  const compact = (c) => ({
    id: c.id, name: nameOf(c), company: c.company_name || undefined, type: c.type || undefined,
    tags: c.tags || [], responsible: c.responsible || undefined, last_interaction_ts: c.last_interaction_ts,
  });
  const keyOf = (d) => JSON.stringify([d.client && d.client.contact_id, d.client && d.client.unverified_match, isClosed(d)]);
  const isClosed = (d) => !(d.state === 'offered' || d.state === 'active');
  const fail = (prefix, e) => { error = prefix + (e && e.message ? e.message : String(e)); busy = false; draw(); };

  // Called on every console render; redraws only when the chat or its link changed.
  function show(d, force) {
    const key = d ? keyOf(d) : '';
    const id = d ? d.id : null;
    if (!force && id === shown.dialogId && key === shown.key && dialog === d) return;
    const changedChat = id !== shown.dialogId;
    shown = { dialogId: id, key };
    dialog = d || null;
    if (changedChat) { error = ''; editing = false; results = null; }
    const cid = d && d.client && d.client.contact_id;
    if (cid) { results = null; load(cid, changedChat && contacts.has(cid)); }
    draw();
  }

  async function load(cid, reload) {
    if (!contacts.has(cid) || reload) {
      try {
        const r = await request({ type: 'contact', contact_id: cid });
        contacts.set(cid, r.contact);
      } catch (e) { if (currentId() === cid) fail('Could not load the contact: ', e); return; }
    }
    if (!logs.has(cid) || reload) await loadLog(cid);
    if (currentId() === cid) draw();
  }

  async function loadLog(cid, before) {
    const log = logs.get(cid) || { items: [], next_before: null };
    logs.set(cid, log);
    log.loading = true;
    try {
      const frame = { type: 'interactions', contact_id: cid, limit: 20 };
      if (before) frame.before = before;
      const r = await request(frame);
      const items = r.interactions || [];
      log.items = before ? log.items.concat(items) : items;
      log.next_before = r.next_before || null;
      log.error = '';
    } catch (e) { log.error = 'Could not load the log: ' + e.message; }
    log.loading = false;
    if (currentId() === cid) draw();
  }

  const currentId = () => (dialog && dialog.client && dialog.client.contact_id) || null;

  // Marks the dialog as linked to `c` (a full contact) and shows it.
  function linked(d, c) {
    d.client = { ...d.client, contact_id: c.id, contact: compact(c) };
    delete d.client.unverified_match;
    contacts.set(c.id, c);
    logs.delete(c.id);
    results = null;
    if (onChanged) onChanged(d);
    show(d, true);
  }

  async function link(cid) {
    const d = dialog;
    if (!d || busy) return;
    busy = true; error = ''; draw();
    try {
      await request({ type: 'link_contact', dialog_id: d.id, contact_id: cid });
      const r = await request({ type: 'contact', contact_id: cid });
      busy = false;
      linked(d, r.contact);
    } catch (e) { fail('Could not link: ', e); }
  }

  async function unlink() {
    const d = dialog;
    if (!d || busy) return;
    busy = true; error = ''; draw();
    try {
      await request({ type: 'unlink_contact', dialog_id: d.id });
      busy = false;
      d.client = { ...d.client };
      delete d.client.contact_id;
      delete d.client.contact;
      if (onChanged) onChanged(d);
      show(d, true);
    } catch (e) { fail('Could not unlink: ', e); }
  }

  async function createLead() {
    const d = dialog;
    if (!d || busy) return;
    const c = d.client || {};
    const contact = { kind: 'person', first_name: c.name || c.email || c.phone || `Visitor ${String(c.client_id || '').slice(0, 6)}` };
    if (c.email) contact.emails = [{ value: c.email }];
    if (c.phone) contact.phones = [{ value: c.phone }];
    busy = true; error = ''; draw();
    try {
      const r = await request({ type: 'create_contact', contact });
      await request({ type: 'link_contact', dialog_id: d.id, contact_id: r.contact.id });
      busy = false;
      linked(d, r.contact);
    } catch (e) { fail('Could not create the lead: ', e); }
  }

  async function search(q) {
    q = q.trim();
    if (!q || busy) return;
    busy = true; error = ''; draw();
    try {
      const r = await request({ type: 'search_contacts', q, limit: 10 });
      results = r.contacts || [];
    } catch (e) { results = null; fail('Search failed: ', e); return; }
    busy = false;
    draw();
    const input = root.querySelector('[data-testid="contact-link-search"]');
    if (input) { input.value = q; }
  }

  async function addInteraction(kind, text) {
    const cid = currentId();
    if (!cid || busy || !text.trim()) return false;
    busy = true; error = ''; draw();
    try {
      const r = await request({ type: 'add_interaction', contact_id: cid, kind, text: text.trim() });
      const log = logs.get(cid) || { items: [], next_before: null };
      const fresh = (r.interactions || []).filter((x) => !log.items.some((y) => y.id === x.id));
      log.items = fresh.concat(log.items);
      logs.set(cid, log);
      busy = false;
      draw();
      return true;
    } catch (e) { fail('Could not add to the log: ', e); return false; }
  }

  async function save(changes) {
    const cid = currentId();
    const c = contacts.get(cid);
    if (!cid || !c || busy) return;
    busy = true; error = ''; draw();
    try {
      const r = await request({ type: 'update_contact', contact_id: cid, version: c.version, contact: changes });
      busy = false;
      editing = false;
      contacts.set(cid, r.contact);
      if (dialog) dialog.client = { ...dialog.client, contact: compact(r.contact) };
      shown.key = dialog ? keyOf(dialog) : '';
      draw();
    } catch (e) {
      busy = false;
      if (e.code === 'conflict') {
        editing = false;
        error = 'Someone else changed this contact; reloaded. Make your change again.';
        await load(cid, true);
        draw();
      } else fail('Not saved: ', e);
    }
  }

  // ----------------------------------------------------------------------------------------
  // Drawing

  function draw() {
    const parts = [];
    const errorLine = el('p', { class: 'contact-error', 'data-testid': 'contact-error', role: 'alert', text: error });
    errorLine.hidden = !error;
    const d = dialog;
    if (!d) {
      parts.push(el('p', { class: 'empty', text: 'No chat selected.' }));
    } else if (d.client && d.client.contact_id) {
      parts.push(...drawLinked(d));
    } else {
      parts.push(...drawUnlinked(d));
    }
    root.dataset.state = !d ? 'none' : d.client && d.client.contact_id ? 'linked' : d.client && d.client.unverified_match ? 'unverified' : 'unlinked';
    root.setAttribute('aria-busy', String(busy));
    root.replaceChildren(errorLine, ...parts);
  }

  function drawLinked(d) {
    const cid = d.client.contact_id;
    const full = contacts.get(cid);
    const card = full ? compact(full) : (d.client.contact || { id: cid, name: `Contact #${cid}` });
    const out = [];
    const head = el('div', { class: 'contact-head' },
      el('span', { class: 'contact-name', 'data-testid': 'contact-name', text: card.name || nameOf(full) }),
      el('span', { class: 'contact-id mono', 'data-testid': 'contact-id', text: '#' + cid }));
    out.push(head);
    if (card.company) out.push(el('div', { class: 'contact-company', 'data-testid': 'contact-company', text: card.company }));
    const facts = el('dl', { class: 'contact-facts' },
      el('dt', { text: 'Type' }), el('dd', {}, el('span', { class: card.type ? 'contact-type type-' + String(card.type).replace(/[^a-z0-9_-]/gi, '') : '', 'data-testid': 'contact-type', text: card.type || '–' })),
      el('dt', { text: 'Tags' }), el('dd', { class: 'contact-tags', 'data-testid': 'contact-tags' }, ...tagChips(card.tags)),
      el('dt', { text: 'Owner' }), el('dd', { 'data-testid': 'contact-responsible', text: card.responsible ? operatorName(card.responsible) : '–' }));
    if (full) {
      const emails = (full.emails || []).map((e) => e.value).join(', ');
      const phones = (full.phones || []).map((p) => p.given || p.value).join(', ');
      if (emails) facts.append(el('dt', { text: 'Email' }), el('dd', { 'data-testid': 'contact-emails', text: emails }));
      if (phones) facts.append(el('dt', { text: 'Phone' }), el('dd', { 'data-testid': 'contact-phones', text: phones }));
      if (full.position) facts.append(el('dt', { text: 'Position' }), el('dd', { text: full.position }));
      if (full.description) facts.append(el('dt', { text: 'Note' }), el('dd', { class: 'contact-desc', text: full.description }));
    }
    if (card.last_interaction_ts) facts.append(el('dt', { text: 'Last' }), el('dd', { text: fmtTime(card.last_interaction_ts) }));
    out.push(facts);
    out.push(el('div', { class: 'contact-actions' },
      el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'contact-edit', disabled: !full || busy, 'aria-expanded': String(editing), onclick: () => { editing = !editing; draw(); } }, editing ? 'Cancel edit' : 'Edit'),
      el('button', { type: 'button', class: 'btn btn-small btn-quiet', 'data-testid': 'contact-unlink', disabled: busy, title: 'This chat is not this contact', onclick: unlink }, 'Unlink')));
    if (editing && full) out.push(drawEdit(full));
    out.push(drawLog(cid));
    return out;
  }

  function tagChips(tags) {
    if (!tags || !tags.length) return ['–'];
    return tags.map((t) => el('span', { class: 'tag', 'data-testid': 'contact-tag', text: t }));
  }

  function drawEdit(c) {
    const typeSel = el('select', { id: 'contact-edit-type', 'data-testid': 'contact-edit-type' },
      el('option', { value: '', text: '(none)' }),
      ...Array.from(new Set([...CONTACT_TYPES, ...(c.type ? [c.type] : [])]), (t) => el('option', { value: t, text: t })));
    typeSel.value = c.type || '';
    const tags = el('input', { id: 'contact-edit-tags', 'data-testid': 'contact-edit-tags', type: 'text', spellcheck: 'false', placeholder: 'vip, reseller' });
    tags.value = (c.tags || []).join(', ');
    const ops = operators() || [];
    const resp = el('select', { id: 'contact-edit-responsible', 'data-testid': 'contact-edit-responsible' },
      el('option', { value: '', text: '(nobody)' }),
      ...ops.filter((o) => !o.bot).map((o) => el('option', { value: o.id, text: o.name || o.id })));
    if (c.responsible && !ops.some((o) => o.id === c.responsible)) resp.append(el('option', { value: c.responsible, text: c.responsible }));
    resp.value = c.responsible || '';
    const form = el('form', { class: 'contact-edit', 'data-testid': 'contact-edit-form', 'aria-label': 'Edit the contact' },
      el('label', { for: 'contact-edit-type', text: 'Type' }), typeSel,
      el('label', { for: 'contact-edit-tags', text: 'Tags (comma separated)' }), tags,
      el('label', { for: 'contact-edit-responsible', text: 'Responsible' }), resp,
      el('div', { class: 'contact-actions' },
        el('button', { type: 'submit', class: 'btn btn-small btn-primary', 'data-testid': 'contact-edit-save', disabled: busy }, 'Save'),
        el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'contact-edit-cancel', onclick: () => { editing = false; draw(); } }, 'Cancel')));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const tagList = tags.value.split(',').map((t) => t.trim()).filter(Boolean);
      save({ type: typeSel.value || null, tags: tagList, responsible: resp.value || null });
    });
    return form;
  }

  function drawLog(cid) {
    const log = logs.get(cid);
    const kind = el('select', { id: 'interaction-kind-select', 'data-testid': 'interaction-kind-select', 'aria-label': 'Kind' },
      ...INTERACTION_KINDS.map((k) => el('option', { value: k, text: k })));
    const text = el('textarea', { id: 'interaction-text-input', 'data-testid': 'interaction-text-input', rows: '2', placeholder: 'What happened?', 'aria-label': 'Log entry' });
    const form = el('form', { class: 'interaction-form', 'data-testid': 'interaction-form' },
      text,
      el('div', { class: 'contact-actions' }, kind,
        el('button', { type: 'submit', class: 'btn btn-small', 'data-testid': 'interaction-add', disabled: busy }, 'Add to log')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const v = text.value;
      const k = kind.value;
      if (await addInteraction(k, v)) {
        const t = root.querySelector('[data-testid="interaction-text-input"]');
        if (t) t.focus();
      } else {
        // keep what was typed after an error
        const t = root.querySelector('[data-testid="interaction-text-input"]');
        const s = root.querySelector('[data-testid="interaction-kind-select"]');
        if (t) t.value = v;
        if (s) s.value = k;
      }
    });
    const list = el('ol', { class: 'interaction-list', 'data-testid': 'interaction-list', 'aria-label': 'Interaction log, newest first' });
    const items = log ? log.items : [];
    for (const it of items) list.append(drawInteraction(it));
    const box = el('section', { class: 'interactions', 'aria-label': 'Interactions' },
      el('h4', { class: 'side-subtitle', text: 'Log' }), form, list);
    if (!log || log.loading) box.append(el('p', { class: 'empty', text: 'Loading…' }));
    else if (log.error) box.append(el('p', { class: 'contact-error', role: 'alert', text: log.error }));
    else if (!items.length) box.append(el('p', { class: 'empty', 'data-testid': 'interaction-empty', text: 'Nothing logged yet.' }));
    if (log && log.next_before && !log.loading) {
      box.append(el('button', { type: 'button', class: 'btn btn-small btn-quiet', 'data-testid': 'interaction-more', onclick: () => loadLog(cid, log.next_before) }, 'Older entries'));
    }
    return box;
  }

  function drawInteraction(it) {
    const li = el('li', { class: 'interaction', 'data-testid': 'interaction-item', 'data-interaction-id': it.id, 'data-kind': it.kind });
    li.append(el('div', { class: 'interaction-head' },
      el('span', { class: 'interaction-kind', 'data-testid': 'interaction-kind', text: it.kind }),
      el('span', { class: 'interaction-time', 'data-testid': 'interaction-time', text: fmtTime(it.ts) }),
      it.author ? el('span', { class: 'interaction-author', text: operatorName(it.author) }) : null));
    let body = it.text || '';
    if (it.chat) {
      const c = it.chat;
      const bits = [`Chat #${c.dialog_id}`];
      if (c.line) bits.push(c.line);
      if (c.messages != null) bits.push(`${c.messages} message${c.messages === 1 ? '' : 's'}`);
      if (Array.isArray(c.operators) && c.operators.length) bits.push(c.operators.map(operatorName).join(', '));
      if (c.close_reason) bits.push(String(c.close_reason).replace(/_/g, ' '));
      if (c.rating != null) bits.push(`rated ${typeof c.rating === 'object' ? c.rating.score : c.rating}/5`);
      body = bits.join(' · ') + (body ? ' — ' + body : '');
    }
    if (body) li.append(el('div', { class: 'interaction-text', 'data-testid': 'interaction-text', text: body }));
    return li;
  }

  function drawUnlinked(d) {
    const out = [];
    const um = d.client && d.client.unverified_match;
    if (um) {
      const c = contacts.get(um);
      out.push(el('div', { class: 'contact-unverified', 'data-testid': 'contact-unverified' },
        el('p', { text: `This client typed the email/phone of contact #${um}${c ? ` (${nameOf(c)})` : ''} — confirm?` }),
        el('button', { type: 'button', class: 'btn btn-small btn-primary', 'data-testid': 'contact-confirm', disabled: busy, onclick: () => link(um) }, 'Confirm')));
    } else {
      out.push(el('p', { class: 'empty', 'data-testid': 'contact-none', text: 'Not linked to a contact.' }));
    }
    const input = el('input', { id: 'contact-link-search', 'data-testid': 'contact-link-search', type: 'search', placeholder: 'Find a contact to link', 'aria-label': 'Find a contact', spellcheck: 'false' });
    const form = el('form', { class: 'contact-search', role: 'search' }, input,
      el('button', { type: 'submit', class: 'btn btn-small', 'data-testid': 'contact-link-go', disabled: busy }, 'Find'));
    form.addEventListener('submit', (e) => { e.preventDefault(); search(input.value); });
    out.push(form);
    if (results) {
      const ul = el('ul', { class: 'contact-results', 'data-testid': 'contact-link-results' });
      for (const c of results) {
        const sub = [c.company_name, (c.emails || []).map((e) => e.value)[0], (c.phones || []).map((p) => p.value)[0]].filter(Boolean).join(' · ');
        ul.append(el('li', {},
          el('button', { type: 'button', class: 'contact-result', 'data-testid': 'contact-link-result', 'data-contact-id': c.id, disabled: busy, title: 'Link this chat to the contact', onclick: () => link(c.id) },
            el('span', { class: 'contact-result-name', text: nameOf(c) + ' #' + c.id }),
            sub ? el('span', { class: 'contact-result-sub', text: sub }) : null)));
      }
      if (!results.length) ul.append(el('li', { class: 'empty', text: 'No contact found.' }));
      out.push(ul);
    }
    out.push(el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'contact-create-lead', disabled: busy, title: 'Create a contact from this client and link the chat', onclick: createLead }, 'Create lead from this chat'));
    if (um && !contacts.has(um) && !tried.has(um)) {
      tried.add(um);
      // the candidate's name, when this operator may see it (a refusal leaves the id alone)
      request({ type: 'contact', contact_id: um }).then((r) => { contacts.set(um, r.contact); if (dialog === d && !d.client.contact_id) draw(); }, () => {});
    }
    return out;
  }

  // Forgets every contact seen (sign out: the next operator may not see restricted ones).
  function reset() {
    contacts.clear();
    logs.clear();
    tried.clear();
    shown = { dialogId: null, key: '' };
    dialog = null; error = ''; editing = false; busy = false; results = null;
    draw();
  }

  return { show, reset };
}
