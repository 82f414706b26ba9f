// End-to-end test of the contact card beside the chat in the operator console (issue 15).
//
// Called by the browser-test runner as `run({browser, baseUrl, artifacts, log})` with a started
// switchboard on the example configuration where the `support` line also creates leads
// automatically (tests/browser.rs `support_creates_leads`). Contacts are prepared through the
// admin API (token `change-me`); visitors are played from a second Chromium page with the
// browser's own WebSocket; anna works the chats. Screenshots: `artifacts/contacts-NN-step.png`.

const T = 10000; // ms, per wait
const ADMIN = 'change-me';

function check(cond, msg) {
  if (!cond) throw new Error('contacts test: ' + msg);
}

export default async function run({ browser, baseUrl, artifacts, log = console.log }) {
  baseUrl = baseUrl.replace(/\/+$/, '');
  let shot = 0;
  const problems = [];
  const watch = (page, who) => {
    page.on('pageerror', (e) => problems.push(`${who}: page error: ${e.message}`));
    page.on('console', (m) => {
      const t = m.text();
      if (m.type() === 'error' && /Content.Security.Policy|Refused to/i.test(t)) problems.push(`${who}: CSP: ${t}`);
    });
  };
  const snap = async (page, name) => {
    shot += 1;
    const path = `${artifacts}/contacts-${String(shot).padStart(2, '0')}-${name}.png`;
    await page.screenshot({ path });
    log(`screenshot ${path}`);
  };
  const admin = async (method, path, body) => {
    const r = await fetch(baseUrl + '/api/v1' + path, {
      method,
      headers: { authorization: 'Bearer ' + ADMIN, 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    check(r.ok, `admin ${method} ${path} answered ${r.status}: ${text}`);
    return text ? JSON.parse(text) : null;
  };

  // the contact module is served with the page's own CSP rules (a module of this origin)
  const js = await fetch(baseUrl + '/console/contact_card.js');
  check(js.ok && /javascript/.test(js.headers.get('content-type') || ''), `/console/contact_card.js answered ${js.status} ${js.headers.get('content-type')}`);

  const opCtx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const visCtx = await browser.newContext({ viewport: { width: 800, height: 600 } });
  try {
    // ---- a known contact, with one entry in its log
    const karl = await admin('POST', '/contacts', {
      kind: 'person', first_name: 'Karl', last_name: 'Known', company_name: 'Known GmbH',
      emails: [{ value: 'karl@example.com' }], type: 'warm', tags: ['vip'], responsible: 'anna',
    });
    check(karl && karl.id, 'no contact id from the admin API');
    await admin('POST', `/contacts/${karl.id}/interactions`, { kind: 'call', text: 'Asked about prices' });
    log(`contact Karl #${karl.id}`);

    // ---- the visitors: a page of the same origin driving /ws/widget by hand
    const visitor = await visCtx.newPage();
    watch(visitor, 'visitor');
    await visitor.goto(baseUrl + '/healthz');
    const openVisitor = (hello, text) => visitor.evaluate(({ hello, text }) => new Promise((resolve, reject) => {
      const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/widget';
      const ws = new WebSocket(url);
      const v = { ws, frames: [] };
      (window.__visitors ||= []).push(v);
      ws.onmessage = (e) => {
        const f = JSON.parse(e.data);
        v.frames.push(f);
        if (f.type === 'ack' && f.req === 1) resolve({ index: window.__visitors.length - 1, dialog_id: f.dialog_id });
        if (f.type === 'error') reject(new Error('visitor error ' + f.code + ': ' + f.message));
      };
      ws.onopen = () => {
        ws.send(JSON.stringify({ type: 'hello', line: 'support', ...hello }));
        ws.send(JSON.stringify({ type: 'message', req: 1, client_msg_id: 'v-' + Math.random(), text }));
      };
      setTimeout(() => reject(new Error('visitor: no ack')), 8000);
    }), { hello, text });

    // ---- sign in as anna
    const op = await opCtx.newPage();
    watch(op, 'operator');
    const resp = await op.goto(baseUrl + '/console');
    check(resp && resp.ok(), `/console answered ${resp && resp.status()}`);
    await op.getByTestId('login-token').fill('anna-secret');
    await op.getByTestId('login-submit').click();
    await op.locator('[data-testid="conn-state"][data-state="online"]').waitFor({ timeout: T });
    await op.getByTestId('workday-start').click();
    await op.locator('[data-testid="workday-state"]', { hasText: 'working' }).waitFor({ timeout: T });
    const card = op.getByTestId('contact-card');
    const cardState = (state) => op.locator(`[data-testid="contact-card"][data-state="${state}"]`).waitFor({ timeout: T })
      .catch(async () => { throw new Error(`contacts test: the card never became ${state}: ${await card.textContent()}`); });
    const offerOf = (id) => op.locator(`[data-testid="offer"][data-dialog-id="${id}"]`);
    const acceptAndAnswer = async (id, answer) => {
      await offerOf(id).getByTestId('offer-accept').click();
      await op.locator(`[data-testid="chat-item"][data-dialog-id="${id}"][aria-selected="true"]`).waitFor({ timeout: T });
      await op.getByTestId('composer-input').fill(answer);
      await op.getByTestId('composer-input').press('Enter');
      await op.locator('[data-testid="message"][data-author="operator"][data-status="sent"]', { hasText: answer }).waitFor({ timeout: T });
    };
    const selectChat = async (id) => {
      await op.locator(`[data-testid="chat-item"][data-dialog-id="${id}"]`).click();
      await op.locator(`[data-testid="chat-item"][data-dialog-id="${id}"][aria-selected="true"]`).waitFor({ timeout: T });
    };

    // ---- 1. a new client with an email: an automatic lead, its card comes with the offer
    const nina = await openVisitor({ name: 'Nina New', email: 'nina@example.com' }, 'Hi, do you ship to Austria?');
    log(`nina's dialog ${nina.dialog_id}`);
    await offerOf(nina.dialog_id).waitFor({ timeout: T });
    await offerOf(nina.dialog_id).getByTestId('offer-contact').filter({ hasText: 'Nina New' }).waitFor({ timeout: T });
    await offerOf(nina.dialog_id).locator('.offer-head').click(); // preview the offer
    await cardState('linked');
    check((await card.getByTestId('contact-name').textContent()).includes('Nina New'), 'the lead card lacks the name');
    await card.getByTestId('contact-emails').filter({ hasText: 'nina@example.com' }).waitFor({ timeout: T });
    await snap(op, 'offer-with-lead-card');
    await acceptAndAnswer(nina.dialog_id, 'Hello Nina, yes we do.');
    await cardState('linked');
    await card.getByTestId('interaction-empty').waitFor({ timeout: T });
    await snap(op, 'lead-accepted');

    // ---- 2. a client typing a known email: unverified until the operator confirms
    const kv = await openVisitor({ name: 'Karl', email: 'KARL@example.com' }, 'My invoice is wrong');
    log(`karl's dialog ${kv.dialog_id}`);
    await offerOf(kv.dialog_id).getByTestId('offer-contact').filter({ hasText: `#${karl.id}` }).waitFor({ timeout: T });
    await offerOf(kv.dialog_id).locator('.offer-head').click(); // preview: the match is shown
    await cardState('unverified');
    check((await card.getByTestId('contact-unverified').textContent()).includes(`#${karl.id}`), 'the unverified notice lacks the id');
    await acceptAndAnswer(kv.dialog_id, 'Let me look at your invoice, Karl.');
    await cardState('unverified');
    await card.getByTestId('contact-unverified').filter({ hasText: 'Karl Known' }).waitFor({ timeout: T }); // the candidate's name
    await snap(op, 'unverified-match');
    await card.getByTestId('contact-confirm').click();
    await cardState('linked');
    await card.getByTestId('contact-name').filter({ hasText: 'Karl Known' }).waitFor({ timeout: T });
    check((await card.getByTestId('contact-type').textContent()).trim() === 'warm', 'type not shown');
    check((await card.getByTestId('contact-tags').textContent()).includes('vip'), 'tags not shown');
    check((await card.getByTestId('contact-responsible').textContent()).includes('Anna'), 'responsible not shown by name');
    await card.locator('[data-testid="interaction-item"]', { hasText: 'Asked about prices' }).waitFor({ timeout: T });
    check(await card.getByTestId('contact-error').isHidden(), 'an old error stays after the link');
    await snap(op, 'confirmed-card');

    // ---- 3. an interaction added from the card comes first in the log
    await card.getByTestId('interaction-kind-select').selectOption('meeting');
    await card.getByTestId('interaction-text-input').fill('Agreed on a credit note <b>10%</b>');
    await card.getByTestId('interaction-add').click();
    const firstItem = card.getByTestId('interaction-item').first();
    await firstItem.filter({ hasText: 'Agreed on a credit note' }).waitFor({ timeout: T });
    check((await firstItem.getByTestId('interaction-kind').textContent()).trim() === 'meeting', 'the new entry has the wrong kind');
    check((await firstItem.getByTestId('interaction-text').textContent()) === 'Agreed on a credit note <b>10%</b>', 'the entry text was altered');
    check(await card.locator('b').count() === 0, 'entry text was parsed as HTML');
    const logged = await admin('GET', `/contacts/${karl.id}/interactions`);
    check(logged.interactions.some((i) => i.kind === 'meeting' && /credit note/.test(i.text || '')), 'the entry did not reach the server');
    await snap(op, 'interaction-added');

    // ---- 4. edit type, tags and responsible
    await card.getByTestId('contact-edit').click();
    await card.getByTestId('contact-edit-type').selectOption('hot');
    await card.getByTestId('contact-edit-tags').fill('vip, Invoice');
    await card.getByTestId('contact-edit-responsible').selectOption('carl');
    await snap(op, 'editing');
    await card.getByTestId('contact-edit-save').click();
    await card.getByTestId('contact-type').filter({ hasText: 'hot' }).waitFor({ timeout: T });
    check((await card.getByTestId('contact-tags').textContent()).includes('invoice'), 'new tag not shown');
    check((await card.getByTestId('contact-responsible').textContent()).includes('Carl'), 'new responsible not shown');
    let stored = await admin('GET', `/contacts/${karl.id}`);
    check(stored.type === 'hot' && stored.tags.includes('invoice') && stored.responsible === 'carl', `edit not stored: ${JSON.stringify(stored)}`);

    // ---- 5. someone else changes it meanwhile: a conflict, answered plainly and reloaded
    await card.getByTestId('contact-edit').click();
    await admin('PATCH', `/contacts/${karl.id}`, { version: stored.version, description: 'changed elsewhere <img src=x onerror="window.__xss=1">' });
    await card.getByTestId('contact-edit-type').selectOption('cold');
    await card.getByTestId('contact-edit-save').click();
    await card.getByTestId('contact-error').filter({ hasText: 'Someone else changed this contact' }).waitFor({ timeout: T });
    await card.locator('.contact-desc', { hasText: 'changed elsewhere' }).waitFor({ timeout: T });
    check((await card.getByTestId('contact-type').textContent()).trim() === 'hot', 'the conflicting change was shown as saved');
    check(await card.locator('img').count() === 0, 'a contact field was parsed as HTML');
    check(await op.evaluate(() => window.__xss) === undefined, 'the onerror payload ran');
    await snap(op, 'conflict-reloaded');

    // ---- 6. a client without email or phone: no lead; the operator creates one from the chat
    const otto = await openVisitor({ name: 'Otto Anonymous' }, 'Just a quick question');
    await offerOf(otto.dialog_id).waitFor({ timeout: T });
    check(await offerOf(otto.dialog_id).getByTestId('offer-contact').isHidden(), 'an unknown client shows a contact');
    await acceptAndAnswer(otto.dialog_id, 'Sure, ask away.');
    await cardState('unlinked');
    await card.getByTestId('contact-create-lead').waitFor({ timeout: T });
    await snap(op, 'no-contact');
    await card.getByTestId('contact-create-lead').click();
    await cardState('linked');
    await card.getByTestId('contact-name').filter({ hasText: 'Otto Anonymous' }).waitFor({ timeout: T });
    const found = await admin('GET', '/contacts?q=otto');
    check(found.contacts.some((c) => c.first_name === 'Otto Anonymous'), 'the lead is not in the registry');
    await snap(op, 'lead-created');

    // ---- 7. unlink a chat, then link it by hand through the search
    await selectChat(nina.dialog_id);
    await card.getByTestId('contact-name').filter({ hasText: 'Nina New' }).waitFor({ timeout: T });
    await card.getByTestId('contact-unlink').click();
    await cardState('unlinked');
    await card.getByTestId('contact-link-search').fill('known');
    await card.getByTestId('contact-link-go').click();
    const result = card.locator(`[data-testid="contact-link-result"][data-contact-id="${karl.id}"]`);
    await result.waitFor({ timeout: T });
    await snap(op, 'search-results');
    // a refused query is shown, the card keeps working
    await card.getByTestId('contact-link-search').fill('"unbalanced');
    await card.getByTestId('contact-link-go').click();
    await card.getByTestId('contact-error').filter({ hasText: /Search failed/ }).waitFor({ timeout: T });
    await card.getByTestId('contact-link-search').fill('nina');
    await card.getByTestId('contact-link-go').click();
    const ninaResult = card.getByTestId('contact-link-result').filter({ hasText: 'Nina New' });
    await ninaResult.waitFor({ timeout: T });
    await ninaResult.click();
    await cardState('linked');
    await card.getByTestId('contact-name').filter({ hasText: 'Nina New' }).waitFor({ timeout: T });
    await snap(op, 'linked-by-hand');
    // the cards follow the selected chat
    await selectChat(kv.dialog_id);
    await card.getByTestId('contact-name').filter({ hasText: 'Karl Known' }).waitFor({ timeout: T });

    // ---- 8. narrow window: the card sits under the chat list
    await op.setViewportSize({ width: 900, height: 700 });
    await op.getByTestId('contact-section').scrollIntoViewIfNeeded();
    const box = await op.getByTestId('contact-card').boundingBox();
    const pane = await op.getByTestId('client-panel').boundingBox();
    check(box && pane && box.x + box.width <= pane.x + pane.width + 1, 'the card is wider than the client panel');
    await snap(op, 'narrow');

    check(problems.length === 0, 'page problems:\n' + problems.join('\n'));
    log('contacts test passed');
  } finally {
    await opCtx.close().catch(() => {});
    await visCtx.close().catch(() => {});
  }
}
