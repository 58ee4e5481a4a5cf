// Signing in and out in the real page, and an admin adding a colleague who can then sign in.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { admin, launchBrowser, outputDir, startServer } from '../support/harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Opens the sign-in page (any page sends a visitor there) and fills the form. */
async function signInThroughThePage(context, who, next = '/gallery') {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(`${server.url}${next}`);
  await page.waitForURL(/\/login\?next=/);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.fill('input[name="name"]', who.name);
  await page.fill('input[name="password"]', who.password);
  await page.click('[data-testid="login-form"] button[type="submit"]');
  return { page, errors };
}

test('a wrong password is answered in words; the right one opens the page that was asked for', async () => {
  const context = await browser.newContext();
  const { page, errors } = await signInThroughThePage(context, { name: admin.name, password: 'not-the-password' });
  const message = page.locator('[data-testid="login-error"]');
  await message.waitFor();
  assert.match(await message.innerText(), /Wrong name or password/);
  assert.match(page.url(), /\/login/);

  await page.fill('input[name="password"]', admin.password);
  await page.click('[data-testid="login-form"] button[type="submit"]');
  await page.waitForURL(/\/gallery$/);
  await page.locator('[data-testid="signed-in-as"]').waitFor();
  assert.match(await page.locator('[data-testid="signed-in-as"]').innerText(), /e2e-admin \(admin\)/);
  await page.screenshot({ path: path.join(outputDir, 'signed-in.png'), fullPage: true });

  await page.click('[data-testid="sign-out"]');
  await page.waitForURL(/\/login/);
  await page.goto(`${server.url}/history`);
  await page.waitForURL(/\/login\?next=\/history$/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('an admin adds a user, who can then sign in with the role given', async () => {
  const adminSession = await server.signIn(browser);
  const page = await adminSession.newPage();
  await page.goto(`${server.url}/admin`);
  await page.waitForSelector('body[data-hydrated="true"]');
  const form = page.locator('[data-testid="add-user"]');
  await form.locator('input[name="name"]').fill('rosa');
  await form.locator('select[name="role"]').selectOption('staff');
  await form.locator('input[name="password"]').fill('rosa-password-1');
  await form.locator('button[type="submit"]').click();
  await page.locator('[data-testid="users-table"] tr[data-user="rosa"]').waitFor();
  assert.match(await page.locator('[data-testid="users-table"] tr[data-user="rosa"]').innerText(), /active/);

  // A second user with a short password is refused in words, and nothing else changes.
  await form.locator('input[name="name"]').fill('tom');
  await form.locator('input[name="password"]').fill('short');
  await form.locator('button[type="submit"]').click();
  await page.locator('[data-testid="users-error"]').waitFor();
  assert.match(await page.locator('[data-testid="users-error"]').innerText(), /at least 10 characters/);
  assert.equal(await page.locator('[data-testid="users-table"] tr[data-user="tom"]').count(), 0);
  await adminSession.close();

  const context = await browser.newContext();
  const { page: rosa, errors } = await signInThroughThePage(context, { name: 'rosa', password: 'rosa-password-1' }, '/upload');
  await rosa.waitForURL(/\/upload$/);
  await rosa.locator('[data-testid="signed-in-as"]').waitFor();
  assert.match(await rosa.locator('[data-testid="signed-in-as"]').innerText(), /rosa \(staff\)/);
  assert.equal(await rosa.locator('nav a[href="/admin"]').count(), 0, 'staff see no Admin link');
  assert.deepEqual(errors, []);
  await context.close();
});
