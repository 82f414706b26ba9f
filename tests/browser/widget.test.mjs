// A visitor on a customer's site (another origin) writes through the widget; an operator answers
// in the console; drafts, a network cut on both sides, markup in messages, rating, a disallowed
// origin and the supervisor board, each step photographed.
import assert from 'node:assert/strict';

const TIMEOUT = 15000;

export default async function run({ browser, baseUrl, hostUrl, otherUrl, artifacts, log }) {
  let step = 0;
  const shot = async (page, name) => {
    step += 1;
    await page.screenshot({ path: `${artifacts}/${String(step).padStart(2, '0')}-${name}.png` });
  };

  // The operator signs in.
  const opContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const console_ = await opContext.newPage();
  await console_.goto(`${baseUrl}/console`);
  await console_.getByTestId('login-token').fill('anna-secret');
  await console_.getByTestId('login-submit').click();
  await console_.locator('[data-testid=conn-state][data-state=online]').waitFor({ timeout: TIMEOUT });
  await shot(console_, 'console-signed-in');

  // The visitor opens the widget on the customer's page and writes.
  const visitorContext = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  const visitor = await visitorContext.newPage();
  const pageErrors = [];
  visitor.on('pageerror', (e) => pageErrors.push(String(e)));
  await visitor.goto(hostUrl);
  await visitor.getByTestId('launcher').click();
  const panel = visitor.getByTestId('panel');
  await panel.waitFor({ timeout: TIMEOUT });
  await visitor.getByTestId('input').fill('Hello, my order #1234 has not arrived');
  await visitor.keyboard.press('Enter');
  const firstMessage = visitor.getByTestId('message').filter({ hasText: 'my order #1234' });
  await firstMessage.waitFor();
  // "sending" until the durable ack, then sent.
  await visitor.locator('[data-testid=message][data-pending]').waitFor({ state: 'detached', timeout: TIMEOUT });
  await visitor.getByTestId('message').filter({ hasText: 'An operator will answer shortly' }).waitFor({ timeout: TIMEOUT });
  await shot(visitor, 'visitor-wrote');
  log('visitor wrote; greeting received');

  // The console rings with the offer; the operator accepts and answers.
  const offer = console_.getByTestId('offer').first();
  await offer.waitFor({ timeout: TIMEOUT });
  assert.match(await offer.innerText(), /my order #1234/);
  await shot(console_, 'console-offer');
  await offer.getByTestId('offer-accept').click();
  const chat = console_.getByTestId('chat-item').first();
  await chat.waitFor({ timeout: TIMEOUT });
  await chat.click();
  await console_.getByTestId('composer-input').fill('Hi! I am Anna, let me check order #1234.');
  await console_.getByTestId('send-btn').click();
  await visitor.getByTestId('message').filter({ hasText: 'let me check order #1234' }).waitFor({ timeout: TIMEOUT });
  assert.equal(await visitor.locator('[data-testid=panel] h2').innerText(), 'Anna', 'the header names the operator');
  await shot(visitor, 'visitor-got-answer');
  log('operator accepted and answered');

  // The visitor types; the console shows the draft live.
  await visitor.getByTestId('input').pressSequentially('Is it in the warehouse', { delay: 20 });
  await console_.getByTestId('draft-text').filter({ hasText: 'Is it in the warehouse' }).waitFor({ timeout: TIMEOUT });
  await shot(console_, 'console-draft');
  await visitor.keyboard.press('Enter');
  await console_.getByTestId('message').filter({ hasText: 'Is it in the warehouse' }).waitFor({ timeout: TIMEOUT });

  // Markup stays text on both sides.
  const payload = '<img src=x onerror="window.__pwned=1"><b>bold?</b>';
  await visitor.getByTestId('input').fill(payload);
  await visitor.keyboard.press('Enter');
  const shownToOperator = console_.locator('[data-testid=message]').filter({ hasText: 'bold?' });
  await shownToOperator.waitFor({ timeout: TIMEOUT });
  assert.equal((await shownToOperator.getByTestId('message-text').innerText()).trim(), payload);
  await console_.getByTestId('composer-input').fill('<script>window.__pwned=2</script><img src=y onerror="window.__pwned=3">');
  await console_.getByTestId('send-btn').click();
  const shownToVisitor = visitor.getByTestId('message').filter({ hasText: '<script>window.__pwned=2</script>' });
  await shownToVisitor.waitFor({ timeout: TIMEOUT });
  await visitor.waitForTimeout(300);
  assert.equal(await console_.locator('[data-testid=thread] img').count(), 0, 'no <img> in the console thread');
  assert.equal(await visitor.locator('[data-testid=log] img').count(), 0, 'no <img> in the widget log');
  assert.equal(await visitor.evaluate(() => window.__pwned), undefined);
  assert.equal(await console_.evaluate(() => window.__pwned), undefined);
  await shot(visitor, 'markup-is-text');
  log('markup stayed text');

  // The network goes down on both sides; both write; it comes back; nothing lost or doubled.
  await visitorContext.setOffline(true);
  await opContext.setOffline(true);
  await visitor.getByTestId('input').fill('written while offline');
  await visitor.keyboard.press('Enter');
  await visitor.locator('[data-testid=message][data-pending]').waitFor({ timeout: TIMEOUT });
  await shot(visitor, 'offline-pending');
  await console_.getByTestId('composer-input').fill('operator wrote while offline');
  await console_.getByTestId('send-btn').click();
  await visitor.waitForTimeout(1500);
  await visitorContext.setOffline(false);
  await opContext.setOffline(false);
  await console_.getByTestId('message').filter({ hasText: 'written while offline' }).waitFor({ timeout: 30000 });
  await visitor.getByTestId('message').filter({ hasText: 'operator wrote while offline' }).waitFor({ timeout: 30000 });
  await visitor.locator('[data-testid=message][data-pending]').waitFor({ state: 'detached', timeout: TIMEOUT });
  await visitor.waitForTimeout(1000);
  for (const [page, text] of [
    [visitor, 'written while offline'], [console_, 'written while offline'],
    [visitor, 'operator wrote while offline'], [console_, 'operator wrote while offline'],
    [visitor, 'my order #1234 has not arrived'], [console_, 'my order #1234 has not arrived'],
  ]) {
    assert.equal(await page.getByTestId('message').filter({ hasText: text }).count(), 1, `"${text}" exactly once`);
  }
  await shot(visitor, 'back-online');
  log('network cut and restored: nothing lost or doubled');

  // A reload resumes the same conversation from the store, without doubles.
  await visitor.reload();
  await visitor.getByTestId('launcher').waitFor();
  if (await visitor.getByTestId('panel').isHidden()) await visitor.getByTestId('launcher').click();
  await visitor.getByTestId('message').filter({ hasText: 'operator wrote while offline' }).waitFor({ timeout: TIMEOUT });
  assert.equal(await visitor.getByTestId('message').filter({ hasText: 'my order #1234' }).count(), 1);
  assert.equal(await visitor.getByTestId('message').filter({ hasText: 'written while offline' }).count(), 1);

  // The operator closes; the visitor rates; the chat ends and a new one can start.
  await console_.getByTestId('close-btn').click();
  const rating = visitor.getByTestId('rating');
  await rating.waitFor({ timeout: TIMEOUT });
  await shot(visitor, 'rating-request');
  await visitor.getByTestId('like').click();
  await visitor.getByTestId('rating-comment').fill('Quick and kind, thanks');
  await visitor.getByTestId('rate').click();
  await visitor.getByTestId('thanks').waitFor();
  await visitor.getByTestId('new-chat').waitFor({ timeout: TIMEOUT });
  await console_.getByText('Quick and kind, thanks').first().waitFor({ timeout: TIMEOUT });
  await shot(visitor, 'rated-and-closed');
  await shot(console_, 'console-rating');
  log('closed and rated');

  // The unread badge: a closed panel counts what arrives.
  await visitor.getByTestId('new-chat').click();
  await visitor.getByTestId('input').fill('One more question');
  await visitor.keyboard.press('Enter');
  await console_.getByTestId('offer').first().waitFor({ timeout: TIMEOUT });
  await console_.getByTestId('offer').first().getByTestId('offer-accept').click();
  await visitor.getByTestId('minimize').click();
  await console_.locator('[data-testid=chat-item][data-state=active]').first().click();
  await console_.getByTestId('composer-input').fill('Sure, go ahead');
  await console_.getByTestId('send-btn').click();
  await visitor.waitForFunction(() => {
    const b = document.querySelector('#switchboard-widget').shadowRoot.querySelector('.badge');
    return b && !b.hidden && Number(b.textContent) >= 1;
  }, null, { timeout: TIMEOUT });
  assert.match(await visitor.title(), /^\(\d+\) Acme Shop/);
  await shot(visitor, 'unread-badge');
  log('unread badge and title counter');

  // A site that is not in the line's allowed_origins is refused.
  const strangerContext = await browser.newContext();
  const stranger = await strangerContext.newPage();
  await stranger.goto(otherUrl);
  await stranger.getByTestId('launcher').click();
  await stranger.getByTestId('status').filter({ hasText: 'not available' }).waitFor({ timeout: TIMEOUT });
  assert.equal(await stranger.getByTestId('input').isDisabled(), true);
  await shot(stranger, 'other-origin-refused');
  log('a disallowed origin is refused');

  // The supervisor board: the operator steps away, a visitor waits in the queue.
  await console_.getByTestId('presence-select').selectOption('away');
  const waiting = await (await browser.newContext()).newPage();
  await waiting.goto(hostUrl);
  await waiting.getByTestId('launcher').click();
  await waiting.getByTestId('input').fill('Anyone there?');
  await waiting.keyboard.press('Enter');
  await waiting.locator('[data-testid=message][data-pending]').waitFor({ state: 'detached', timeout: TIMEOUT });
  const boardContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const board = await boardContext.newPage();
  await board.goto(`${baseUrl}/console`);
  await board.getByTestId('login-token').fill('dana-secret');
  await board.getByTestId('login-submit').click();
  await board.getByTestId('tab-board').click();
  const supportRow = board.locator('[data-testid=board-line-row][data-line-id=support]');
  await supportRow.waitFor({ timeout: TIMEOUT });
  await board.waitForFunction(() => {
    const row = document.querySelector('[data-testid=board-line-row][data-line-id=support]');
    return row && /\b1\b/.test(row.textContent);
  }, null, { timeout: TIMEOUT });
  await board.locator('[data-testid=board-operator-row][data-operator-id=anna]').waitFor();
  const annaRow = await board.locator('[data-testid=board-operator-row][data-operator-id=anna]').innerText();
  assert.match(annaRow, /away/i, 'the board shows Anna away');
  await board.locator('[data-testid=board-dialog-row]').first().waitFor();
  await shot(board, 'supervisor-board');
  log('the board shows the queue, presence and dialogs');

  assert.deepEqual(pageErrors, [], 'no script errors on the host page');
  await Promise.all([opContext, visitorContext, strangerContext, boardContext].map((c) => c.close()));
}
