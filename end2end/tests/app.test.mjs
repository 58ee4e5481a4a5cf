// The foundation's browser tests: render, hydrate, call a server function, navigate.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { launchBrowser, openHydrated, outputDir, startServer } from '../support/harness.mjs';

let server;
let browser;
let session;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  session = await server.signIn(browser);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the home page renders on the server and is saved as a screenshot', async () => {
  const failed = [];
  const context = session;
  const { page, response } = await openHydrated(context, server.url);
  page.on('response', (r) => { if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`); });
  assert.equal(response.status(), 200);
  // The page names its icon, and the icon is there (no 404 on every page).
  const icon = await page.locator('link[rel="icon"]').getAttribute('href');
  assert.equal((await context.request.get(`${server.url}${icon}`)).status(), 200);
  await page.reload();
  await page.waitForSelector('body[data-hydrated="true"]');
  assert.deepEqual(failed, []);
  assert.match(await page.locator('h1').innerText(), /colour back/i);
  assert.match(await page.locator('footer').innerText(), /Tinct \d+\.\d+\.\d+/);
  await page.screenshot({ path: path.join(outputDir, 'home.png'), fullPage: true });
  await page.close();
});

test('after hydration the status button calls a server function that reads SQLite', async () => {
  const { page, errors } = await openHydrated(session, server.url);
  assert.equal(await page.locator('[data-testid="status-result"]').count(), 0);
  await page.click('[data-testid="check-status"]');
  const result = page.locator('[data-testid="status-result"]');
  await result.waitFor({ timeout: 30_000 });
  const text = await result.innerText();
  assert.match(text, /SQLite 3\.\d+/);
  assert.match(text, /0 in total, 0 waiting/);
  assert.match(text, /Tinct-mini/);
  assert.match(text, /CPU/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('the menu reaches every page, each with its own content', async () => {
  const { page, errors } = await openHydrated(session, server.url);
  const pages = [
    ['Upload', '/upload', /Upload/, /Drop scans or a folder here/],
    ['Batches', '/batches', /Batches/, /No batches yet/],
    ['Gallery', '/gallery', /Gallery/, /No restored images yet/],
    ['History', '/history', /History/, /No jobs yet/],
    ['Admin', '/admin', /Admin/, /CPUExecutionProvider/],
  ];
  for (const [link, url, heading, content] of pages) {
    await page.click(`header nav >> text=${link}`);
    await page.waitForURL(`${server.url}${url}`);
    await page.locator('main h1').filter({ hasText: heading }).waitFor();
    await page.locator('main').filter({ hasText: content }).waitFor({ timeout: 30_000 });
    assert.equal(await page.locator(`header nav a[aria-current="page"]`).innerText(), link);
  }
  // This server has no signing certificate: the Admin page says results are not signed.
  assert.match(
    await page.locator('[data-testid="signing"]').innerText(),
    /^Not signed: no signing certificate is configured/,
  );
  assert.deepEqual(errors, []);
  await page.close();
});

test('an unknown address shows a helpful not-found page with status 404', async () => {
  const page = await session.newPage();
  const response = await page.goto(`${server.url}/no-such-page`);
  assert.equal(response.status(), 404);
  assert.match(await page.locator('main').innerText(), /Page not found/);
  await page.close();
});
