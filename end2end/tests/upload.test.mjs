// Uploading scans through the page: bad files refused with a reason, good ones colorized and
// shown live without a reload, the batch still there after a reload, results downloadable.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { launchBrowser, openHydrated, outputDir, repoRoot, startServer } from '../support/harness.mjs';

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

const file = (name, relative) => ({ name, mimeType: 'image/png', buffer: readFileSync(path.join(repoRoot, relative)) });

test('uploaded scans come back in colour live, and a bad file is refused with a message', async () => {
  const { page, errors } = await openHydrated(browser, `${server.url}/upload`);
  await page.check('input[name="preset"][value="portrait"]');
  await page.setInputFiles('[data-testid="file-input"]', [
    file('harbour.png', 'engine/tests/data/reference_input.png'),
    file('street.png', 'engine/tests/data/reference_output.png'),
    file('screen.png', 'docs/screenshot.png'),
    { name: 'invoice.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('%PDF-1.4 not an image') },
  ]);

  const rows = page.locator('[data-testid="upload-row"]');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="upload-row"]').length === 4);
  const refused = rows.filter({ hasText: 'invoice.jpg' });
  await refused.locator('.error').waitFor({ timeout: 30_000 });
  assert.match(await refused.innerText(), /Refused/);
  assert.match(await refused.locator('.error').innerText(), /not an image/);

  // Every good file turns "Done" and shows its colour thumbnail, pushed by the server.
  await page.waitForFunction(
    () => document.querySelectorAll('[data-testid="upload-row"][data-status="done"] img').length === 3,
    null,
    { timeout: 120_000 },
  );
  await page.waitForFunction(() => [...document.querySelectorAll('.upload-row img')].every((img) => img.complete && img.naturalWidth > 0));
  assert.match(await page.locator('[data-testid="batch"] h2').innerText(), /3 of 4 done, 1 not colorized/);
  assert.match(page.url(), /\/upload\?batch=[0-9a-f-]{36}$/);
  await page.screenshot({ path: path.join(outputDir, 'upload.png'), fullPage: true });

  // A download is the colour image at the original's size.
  const href = await rows.filter({ hasText: 'harbour.png' }).locator('a[download]').getAttribute('href');
  const response = await page.request.get(`${server.url}${href}`);
  assert.equal(response.status(), 200);
  assert.equal(response.headers()['content-type'], 'image/png');
  const png = await response.body();
  assert.equal(png.readUInt32BE(16), 240);
  assert.equal(png.readUInt32BE(20), 160);

  // After a reload the batch is still there, as it stands.
  await page.reload();
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.waitForFunction(
    () => document.querySelectorAll('[data-testid="upload-row"][data-status="done"]').length === 3,
    null,
    { timeout: 30_000 },
  );
  assert.deepEqual(errors, []);
  await page.close();
});
