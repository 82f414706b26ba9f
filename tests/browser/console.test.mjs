// End-to-end test of the operator console and the supervisor board (issue 13).
//
// Called by the browser-test runner as `run({browser, baseUrl, artifacts, log})` with a started
// switchboard on the example configuration (operators anna / dana, line `support`). Throws on
// the first failed check; writes a screenshot per step to `artifacts/console-NN-step.png`.
//
// The visitor is played from a second Chromium page with the browser's own WebSocket.

const T = 10000; // ms, per wait

function check(cond, msg) {
  if (!cond) throw new Error('console test: ' + msg);
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
    const path = `${artifacts}/console-${String(shot).padStart(2, '0')}-${name}.png`;
    await page.screenshot({ path });
    log(`screenshot ${path}`);
  };

  const opCtx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const visCtx = await browser.newContext({ viewport: { width: 800, height: 600 } });
  const supCtx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    // ---- the visitor: a page of the same origin driving /ws/widget by hand
    const visitor = await visCtx.newPage();
    watch(visitor, 'visitor');
    await visitor.goto(baseUrl + '/healthz');
    const openVisitor = (name, text) => visitor.evaluate(({ name, text }) => new Promise((resolve, reject) => {
      const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/widget';
      const ws = new WebSocket(url);
      const v = { ws, frames: [], req: 0 };
      (window.__visitors ||= []).push(v);
      ws.onmessage = (e) => {
        const f = JSON.parse(e.data);
        v.frames.push(f);
        if (f.type === 'ack' && f.req === 1) resolve({ index: window.__visitors.length - 1, dialog_id: f.dialog_id });
        if (f.type === 'error') reject(new Error('visitor error ' + f.code + ': ' + f.message));
      };
      ws.onopen = () => {
        ws.send(JSON.stringify({ type: 'hello', line: 'support', name, email: name.split(' ')[0].toLowerCase() + '@example.com', phone: '+49 30 1234567' }));
        ws.send(JSON.stringify({ type: 'message', req: 1, client_msg_id: 'v-' + Date.now(), text }));
      };
      setTimeout(() => reject(new Error('visitor: no ack')), 8000);
    }), { name, text });
    const visitorSend = (index, frame) => visitor.evaluate(({ index, frame }) => {
      const v = window.__visitors[index];
      v.ws.send(JSON.stringify({ ...frame, req: frame.type === 'message' ? ++v.req + 100 : undefined }));
    }, { index, frame });
    // match: {types: [...], author?, text?, dialog_id?}
    const visitorGot = (index, match, what) => visitor.waitForFunction(({ index, match }) => {
      const v = window.__visitors[index];
      return v.frames.some((f) => match.types.includes(f.type)
        && (match.author === undefined || f.author === match.author)
        && (match.text === undefined || f.text === match.text)
        && (match.dialog_id === undefined || f.dialog_id === match.dialog_id));
    }, { index, match }, { timeout: T }).catch(() => { throw new Error('console test: the visitor never got ' + what); });

    // ---- 1. sign in as anna
    const op = await opCtx.newPage();
    watch(op, 'operator');
    const resp = await op.goto(baseUrl + '/console');
    check(resp && resp.ok(), `/console answered ${resp && resp.status()}`);
    await op.getByTestId('login-token').waitFor({ timeout: T });
    await snap(op, 'login');
    // a wrong token comes back to the sign-in with the server's message
    await op.getByTestId('login-token').fill('not-a-token');
    await op.getByTestId('login-submit').click();
    await op.getByTestId('login-error').waitFor({ state: 'visible', timeout: T });
    check((await op.getByTestId('login-error').textContent()).trim().length > 0, 'no message for a bad token');
    await op.getByTestId('login-token').fill('anna-secret');
    await op.getByTestId('login-submit').click();
    await op.locator('[data-testid="conn-state"][data-state="online"]').waitFor({ timeout: T });
    check(await op.evaluate(() => sessionStorage.getItem('switchboard.console.token')) === 'anna-secret', 'token not in sessionStorage');
    check(await op.evaluate(() => localStorage.length) === 0, 'something was written to localStorage');
    check((await op.getByTestId('me-name').textContent()).includes('Anna'), 'operator name not shown');
    check(await op.getByTestId('tab-board').isHidden(), 'a non-supervisor sees the board tab');
    await op.getByTestId('workday-start').click();
    await op.locator('[data-testid="workday-state"]', { hasText: 'working' }).waitFor({ timeout: T });
    await snap(op, 'signed-in');

    // ---- 2. an offer arrives
    const first = await openVisitor('Vera Visitor', 'Hello, my parcel has not arrived');
    const id = first.dialog_id;
    log(`visitor dialog ${id}`);
    const offer = op.locator(`[data-testid="offer"][data-dialog-id="${id}"]`);
    await offer.waitFor({ timeout: T });
    check((await offer.getByTestId('offer-client').textContent()).includes('Vera Visitor'), 'offer does not name the client');
    check((await offer.getByTestId('offer-messages').textContent()).includes('my parcel has not arrived'), 'offer lacks the last message');
    const cd1 = (await offer.getByTestId('offer-countdown').textContent()).trim();
    check(/^\d+:\d\d$/.test(cd1), `countdown looks wrong: "${cd1}"`);
    await op.waitForFunction(({ id, cd1 }) => {
      const c = document.querySelector(`[data-testid="offer"][data-dialog-id="${id}"] [data-testid="offer-countdown"]`);
      return c && c.textContent.trim() !== cd1;
    }, { id, cd1 }, { timeout: 3000 }).catch(() => { throw new Error(`console test: countdown does not move (${cd1})`); });
    check(/^\(\d+\) /.test(await op.title()), `no counter in the tab title: "${await op.title()}"`);
    await snap(op, 'offer');

    // ---- 3. accept
    await offer.getByTestId('offer-accept').click();
    const item = op.locator(`[data-testid="chat-item"][data-dialog-id="${id}"]`);
    await item.waitFor({ timeout: T });
    await op.locator(`[data-testid="chat-item"][data-dialog-id="${id}"][aria-selected="true"]`).waitFor({ timeout: T });
    check(await offer.count() === 0, 'the offer is still listed after accept');
    await op.locator('[data-testid="message"][data-author="client"]', { hasText: 'my parcel has not arrived' }).waitFor({ timeout: T });
    check((await op.getByTestId('client-name').textContent()).includes('Vera Visitor'), 'client panel lacks the name');
    check((await op.getByTestId('client-email').textContent()).includes('vera@example.com'), 'client panel lacks the email');
    check((await op.getByTestId('client-line').textContent()).trim() !== '–', 'client panel lacks the line');
    check(await op.getByTestId('contact-section').count() === 1, 'no contact section');
    await snap(op, 'accepted');

    // ---- 4. answer, the visitor gets it
    const answer = 'Hi Vera, let me check that for you.';
    // typing in the composer reaches the visitor as "operator is typing"
    await op.getByTestId('composer-input').pressSequentially('Hi Vera', { delay: 10 });
    await visitorGot(first.index, { types: ['operator_typing'], dialog_id: id }, 'operator_typing');
    await op.getByTestId('composer-input').fill(answer);
    await op.getByTestId('composer-input').press('Enter');
    await op.locator('[data-testid="message"][data-author="operator"][data-status="sent"]', { hasText: answer }).waitFor({ timeout: T });
    await visitorGot(first.index, { types: ['message'], author: 'operator', text: answer }, 'the answer');
    check(await op.locator('[data-testid="message"]', { hasText: answer }).count() === 1, 'the answer is shown twice');
    check((await op.getByTestId('composer-input').inputValue()) === '', 'composer not cleared after send');
    // Shift+Enter makes a new line and does not send
    await op.getByTestId('composer-input').press('a');
    await op.getByTestId('composer-input').press('Shift+Enter');
    check((await op.getByTestId('composer-input').inputValue()) === 'a\n', 'Shift+Enter did not insert a new line');
    await op.getByTestId('composer-input').fill('');

    // ---- 5. the visitor's draft shows live
    await visitorSend(first.index, { type: 'typing', text: 'my order number is 4711' });
    await op.locator('[data-testid="draft-text"]', { hasText: 'my order number is 4711' }).waitFor({ timeout: T });
    await snap(op, 'draft-preview');

    // ---- 6. hostile text stays text
    const payload = '<img src=x onerror="window.__xss=1"><b>bold</b>';
    await visitorSend(first.index, { type: 'message', client_msg_id: 'v-xss', text: payload });
    const xss = op.locator('[data-testid="message"][data-author="client"]').last().getByTestId('message-text');
    await op.waitForFunction((p) => Array.from(document.querySelectorAll('[data-testid="message-text"]')).some((e) => e.textContent === p), payload, { timeout: T });
    check(await op.locator('[data-testid="thread"] img, [data-testid="thread"] b').count() === 0, 'message text was parsed as HTML');
    check(await op.evaluate(() => window.__xss) === undefined, 'the onerror payload ran');
    check((await xss.textContent()) === payload, 'payload text altered');
    check(await op.getByTestId('draft-preview').isHidden(), 'the draft stays after the message was sent');

    // ---- 7. reconnect: a dropped connection misses nothing and doubles nothing
    await op.evaluate(() => window.switchboardConsole.state.ws.close());
    await visitorSend(first.index, { type: 'message', client_msg_id: 'v-gap', text: 'written while the console was away' });
    await op.locator('[data-testid="conn-state"][data-state="online"]').waitFor({ timeout: T });
    await op.locator('[data-testid="message"]', { hasText: 'written while the console was away' }).waitFor({ timeout: T });
    await op.waitForTimeout(300);
    check(await op.locator('[data-testid="message"]', { hasText: 'written while the console was away' }).count() === 1, 'message doubled after reconnect');
    check(await op.locator('[data-testid="message"]', { hasText: answer }).count() === 1, 'answer doubled after reconnect');
    check(await op.locator('[data-testid="message"]', { hasText: 'my parcel has not arrived' }).count() === 1, 'first message doubled after reconnect');

    // ---- 8. quick answers: "/" opens the list, arrows + Enter insert
    const input = op.getByTestId('composer-input');
    await input.click();
    await input.type('/');
    await op.getByTestId('qa-popup').waitFor({ state: 'visible', timeout: T });
    check(await op.getByTestId('qa-item').count() >= 2, 'the quick-answer list is empty');
    await input.type('order');
    await op.waitForFunction(() => document.querySelectorAll('[data-testid="qa-item"]').length === 1, null, { timeout: T });
    await snap(op, 'quick-answers');
    await input.press('ArrowDown');
    await input.press('Enter');
    check(await op.getByTestId('qa-popup').isHidden(), 'popup still open after insert');
    const inserted = await input.inputValue();
    check(inserted === 'Could you send me your order number?', `quick answer not inserted: "${inserted}"`);
    await op.getByTestId('send-btn').click();
    await visitorGot(first.index, { types: ['message'], author: 'operator', text: inserted }, 'the quick answer');
    // save a text as a quick answer; it shows up in the list
    await input.fill('Your parcel is on its way today.');
    await op.getByTestId('save-qa-btn').click();
    await op.locator('[data-testid="toast"]', { hasText: 'Saved as a quick answer' }).waitFor({ timeout: T });
    await input.fill('');
    await input.type('/parcel');
    await op.locator('[data-testid="qa-item"]', { hasText: 'Your parcel is on its way today.' }).waitFor({ timeout: T });
    await input.press('Escape');
    await input.fill('');
    // Esc closes the popup
    await input.type('/');
    await op.getByTestId('qa-popup').waitFor({ state: 'visible', timeout: T });
    await input.press('Escape');
    check(await op.getByTestId('qa-popup').isHidden(), 'Esc did not close the quick answers');
    await input.fill('');

    // ---- 9. the help popover
    await op.getByTestId('help-btn').click();
    await op.getByTestId('help-dialog').waitFor({ state: 'visible', timeout: T });
    check((await op.getByTestId('help-dialog').textContent()).includes('Accept the oldest offer'), 'help lacks the shortcuts');
    await op.keyboard.press('Escape');
    await op.getByTestId('help-dialog').waitFor({ state: 'hidden', timeout: T });

    // ---- 9b. the transfer dialog lists operators from the directory (cancelled here)
    await op.keyboard.press('Alt+KeyT');
    await op.getByTestId('transfer-dialog').waitFor({ state: 'visible', timeout: T });
    const targets = await op.getByTestId('transfer-target').locator('option').allTextContents();
    check(targets.some((t) => t.includes('Dana')) && !targets.some((t) => t.startsWith('Anna')), `transfer targets wrong: ${targets.join(' | ')}`);
    await op.getByTestId('transfer-kind-line').check();
    const lineTargets = await op.getByTestId('transfer-target').locator('option').allTextContents();
    check(lineTargets.some((t) => t.includes('Sales')), `line targets wrong: ${lineTargets.join(' | ')}`);
    await snap(op, 'transfer');
    await op.getByTestId('transfer-cancel').click();
    await op.getByTestId('transfer-dialog').waitFor({ state: 'hidden', timeout: T });

    // ---- 10. close the chat
    await op.getByTestId('close-btn').click();
    await op.locator(`[data-testid="chat-item"][data-dialog-id="${id}"]:is([data-state="closing"], [data-state="closed"])`).waitFor({ timeout: T });
    await visitorGot(first.index, { types: ['rating_request', 'dialog_closed'], dialog_id: id }, 'the closing');
    check(await op.getByTestId('composer-input').isDisabled(), 'composer still enabled on a closed chat');
    await snap(op, 'closed');

    // ---- 11. a queue: anna goes away, a second visitor waits
    await op.getByTestId('presence-select').selectOption('away');
    await op.waitForTimeout(300);
    // the operator's "away" survives a reconnect (the server makes a new connection online)
    await op.evaluate(() => window.switchboardConsole.state.ws.close());
    await op.locator('[data-testid="conn-state"][data-state="reconnecting"]').waitFor({ timeout: T });
    await op.locator('[data-testid="conn-state"][data-state="online"]').waitFor({ timeout: T });
    await op.waitForTimeout(300);
    check(await op.getByTestId('presence-select').inputValue() === 'away', 'away was lost on reconnect');
    const second = await openVisitor('Walter Waiting', 'Is anybody there?');
    log(`queued dialog ${second.dialog_id}`);
    await op.waitForTimeout(300);
    check(await op.locator(`[data-testid="offer"][data-dialog-id="${second.dialog_id}"]`).count() === 0, 'an away operator got an offer');

    // ---- 12. the supervisor board (dana)
    const sup = await supCtx.newPage();
    watch(sup, 'supervisor');
    await sup.goto(baseUrl + '/console');
    await sup.getByTestId('login-token').fill('dana-secret');
    await sup.getByTestId('login-submit').click();
    await sup.locator('[data-testid="conn-state"][data-state="online"]').waitFor({ timeout: T });
    await sup.getByTestId('tab-board').waitFor({ state: 'visible', timeout: T });
    await sup.getByTestId('tab-board').click();
    const row = sup.locator('[data-testid="board-line-row"][data-line-id="support"]');
    await row.waitFor({ timeout: T });
    await sup.waitForFunction(() => {
      const r = document.querySelector('[data-testid="board-line-row"][data-line-id="support"] [data-testid="board-queue-length"]');
      return r && Number(r.textContent) >= 1;
    }, null, { timeout: T }).catch(() => { throw new Error('console test: the board does not show the waiting client'); });
    const oldest = (await row.getByTestId('board-oldest-wait').textContent()).trim();
    check(/\d/.test(oldest), `no oldest wait: "${oldest}"`);
    check(await row.getByTestId('pct-bars').count() >= 1, 'no first-response figures for the support line');
    check(await sup.locator('[data-testid="board-operator-row"][data-operator-id="anna"]').count() === 1, 'anna missing from the operators');
    check(await sup.locator('[data-testid="board-operator-row"][data-operator-id="anna"] [data-testid="load-bar"]').count() === 1, 'no load bar');
    const drow = sup.locator(`[data-testid="board-dialog-row"][data-dialog-id="${second.dialog_id}"]`);
    await drow.waitFor({ timeout: T });
    check((await drow.textContent()).includes('Walter Waiting'), 'open dialog lacks the client');
    check((await drow.locator('.decisions li').count()) >= 1, 'open dialog lacks its routing decisions');
    await snap(sup, 'board');
    // supervisor rating through the WebSocket
    await drow.getByTestId('board-rate').selectOption('4');
    await sup.locator('[data-testid="toast"]', { hasText: 'Rated dialog' }).waitFor({ timeout: T })
      .catch(async () => { throw new Error('console test: supervisor rating not acknowledged: ' + await sup.getByTestId('toasts').textContent()); });

    // ---- 13. narrow window
    await op.setViewportSize({ width: 800, height: 700 });
    await op.locator(`[data-testid="chat-item"][data-dialog-id="${id}"]`).click();
    await snap(op, 'narrow');
    await sup.setViewportSize({ width: 800, height: 700 });
    await snap(sup, 'board-narrow');

    // ---- sign out forgets the token
    await op.getByTestId('signout').click();
    await op.getByTestId('login-token').waitFor({ timeout: T });
    check(await op.evaluate(() => sessionStorage.getItem('switchboard.console.token')) === null, 'token kept after sign out');

    check(problems.length === 0, 'page problems:\n' + problems.join('\n'));
    log('console test passed');
  } finally {
    await opCtx.close().catch(() => {});
    await visCtx.close().catch(() => {});
    await supCtx.close().catch(() => {});
  }
}
