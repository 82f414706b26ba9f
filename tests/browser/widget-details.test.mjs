// The widget beyond the happy path: on a phone in German, by keyboard alone, with a pre-chat
// form, and on the server's own demo page under its Content-Security-Policy.
import assert from 'node:assert/strict';

const TIMEOUT = 15000;

export default async function run({ browser, baseUrl, hostUrl, artifacts, log }) {
  // On a phone, in German: the panel fills the screen and the input does not zoom the page.
  const phone = await browser.newContext({ viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true });
  const mobile = await phone.newPage();
  await mobile.goto(`${hostUrl}?lang=de`);
  await mobile.getByTestId('launcher').click();
  const panel = mobile.getByTestId('panel');
  await panel.waitFor();
  await mobile.getByTestId('subtitle').filter({ hasText: 'Wir antworten hier' }).waitFor({ timeout: TIMEOUT });
  const box = await panel.boundingBox();
  assert.ok(box.width >= 374 && box.height >= 660, `the panel fills the phone screen: ${JSON.stringify(box)}`);
  const fontSize = await mobile.getByTestId('input').evaluate((e) => parseFloat(getComputedStyle(e).fontSize));
  assert.ok(fontSize >= 16, `input font-size ${fontSize}px would zoom on focus`);
  assert.equal(await mobile.getByTestId('input').getAttribute('placeholder'), 'Nachricht schreiben…');
  await mobile.getByTestId('input').fill('Hallo, ist das Fahrrad lieferbar?');
  await mobile.getByTestId('send').tap();
  await mobile.locator('[data-testid=message][data-pending]').waitFor({ state: 'detached', timeout: TIMEOUT });
  await mobile.screenshot({ path: `${artifacts}/01-phone-german.png` });
  log('phone layout, German texts');

  // By keyboard alone: Tab reaches the launcher, Enter opens, focus goes to the input, Escape
  // closes and gives focus back.
  const desk = await browser.newContext();
  const keyboard = await desk.newPage();
  await keyboard.goto(hostUrl);
  await keyboard.getByTestId('launcher').waitFor();
  await keyboard.keyboard.press('Tab');
  const focused = () => keyboard.evaluate(() => {
    const root = document.querySelector('#switchboard-widget').shadowRoot;
    return root.activeElement ? root.activeElement.dataset.testid : null;
  });
  assert.equal(await focused(), 'launcher');
  assert.equal(await keyboard.getByTestId('launcher').getAttribute('aria-label'), 'Open chat');
  await keyboard.keyboard.press('Enter');
  await keyboard.getByTestId('panel').waitFor();
  await keyboard.waitForFunction(() => document.querySelector('#switchboard-widget').shadowRoot.activeElement?.dataset.testid === 'input');
  assert.equal(await keyboard.getByTestId('launcher').getAttribute('aria-expanded'), 'true');
  assert.equal(await keyboard.getByTestId('log').getAttribute('role'), 'log');
  await keyboard.keyboard.press('Escape');
  await keyboard.getByTestId('panel').waitFor({ state: 'hidden' });
  assert.equal(await focused(), 'launcher');
  assert.equal(await keyboard.getByTestId('launcher').getAttribute('aria-expanded'), 'false');
  log('keyboard: open, focus, escape');

  // A line with a pre-chat form: name and email reach the operator's view of the client.
  const prechatContext = await browser.newContext();
  const prechat = await prechatContext.newPage();
  await prechat.goto(`${hostUrl}?line=sales`);
  await prechat.getByTestId('launcher').click();
  const form = prechat.getByTestId('prechat');
  await form.waitFor({ timeout: TIMEOUT });
  await prechat.screenshot({ path: `${artifacts}/02-prechat.png` });
  await form.locator('input[name=name]').fill('Erika Mustermann');
  await form.locator('input[name=email]').fill('erika@example.com');
  await form.getByRole('button').click();
  await form.waitFor({ state: 'detached' });
  await prechat.getByTestId('input').fill('Do you ship cargo bikes to Austria?');
  await prechat.keyboard.press('Enter');
  await prechat.locator('[data-testid=message][data-pending]').waitFor({ state: 'detached', timeout: TIMEOUT });
  const answer = await fetch(`${baseUrl}/api/v1/dialogs?line=sales`, { headers: { authorization: 'Bearer change-me' } });
  const { dialogs } = await answer.json();
  assert.equal(dialogs.length, 1, JSON.stringify(dialogs));
  assert.equal(dialogs[0].client.name, 'Erika Mustermann');
  assert.equal(dialogs[0].client.email, 'erika@example.com');
  log('pre-chat details reach the dialog');

  // The demo page on the server itself: the widget works under the page's CSP.
  const demoContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const demo = await demoContext.newPage();
  const violations = [];
  demo.on('console', (m) => { if (/Content Security Policy|Refused to/.test(m.text())) violations.push(m.text()); });
  demo.on('pageerror', (e) => violations.push(String(e)));
  await demo.goto(`${baseUrl}/demo`);
  await demo.getByTestId('launcher').click();
  await demo.getByTestId('input').fill('Hello from the demo page');
  await demo.keyboard.press('Enter');
  await demo.locator('[data-testid=message][data-pending]').waitFor({ state: 'detached', timeout: TIMEOUT });
  const launcherColor = await demo.getByTestId('launcher').evaluate((e) => getComputedStyle(e).backgroundColor);
  assert.equal(launcherColor, 'rgb(31, 111, 235)', 'the widget styles apply under the CSP');
  await demo.screenshot({ path: `${artifacts}/03-demo-page.png` });
  assert.deepEqual(violations, [], 'no CSP violations or script errors on the demo page');
  log('demo page under its CSP');

  await Promise.all([phone, desk, prechatContext, demoContext].map((c) => c.close()));
}
