// Uploading scans through the page: bad files refused with a reason, good ones colorized and
// shown live without a reload, the batch still there after a reload, results downloadable.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { launchBrowser, openHydrated, outputDir, repoRoot, startServer } from '../support/harness.mjs';

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

const file = (name, relative) => ({ name, mimeType: 'image/png', buffer: readFileSync(path.join(repoRoot, relative)) });

test('uploaded scans come back in colour live, and a bad file is refused with a message', async () => {
  const { page, errors } = await openHydrated(session, `${server.url}/upload`);
  await page.setInputFiles('[data-testid="file-input"]', [
    file('harbour.png', 'engine/tests/data/reference_input.png'),
    file('street.png', 'engine/tests/data/reference_output.png'),
    file('screen.png', 'docs/screenshot.png'),
    { name: 'invoice.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('%PDF-1.4 not an image') },
  ]);

  const rows = page.locator('[data-testid="upload-row"]');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="upload-row"]').length === 4);
  // Nothing is sent before Start: the files are listed, ready, with their sizes.
  assert.equal(await page.locator('[data-testid="upload-row"][data-status="ready"]').count(), 4);
  await page.check('input[name="preset"][value="portrait"]');
  await page.click('[data-testid="start"]');
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
  // Rows show the small cached JPEG, not the full-size result.
  for (const src of await page.locator('.upload-row img').evaluateAll((imgs) => imgs.map((img) => img.getAttribute('src')))) {
    assert.match(src, /\/api\/v1\/jobs\/[0-9a-f-]{36}\/thumbnail$/);
  }
  assert.match(await page.locator('[data-testid="batch"] h2').innerText(), /3 of 4 colorized, 1 not colorized/);
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

test('the gallery shows each result; the detail view compares it with its original', async () => {
  const { page, errors } = await openHydrated(session, `${server.url}/gallery`);
  const cards = page.locator('[data-testid="gallery-grid"] .gallery-item');
  assert.equal(await cards.count(), 3);
  await page.waitForFunction(() => [...document.querySelectorAll('.gallery-item img')].every((img) => img.complete && img.naturalWidth > 0));
  // Thumbnails are small JPEGs, not the full results.
  const thumb = await page.locator('.gallery-item img').first().evaluate((img) => [img.naturalWidth, img.src]);
  assert.ok(thumb[0] <= 320, `thumbnail is ${thumb[0]} px wide`);

  // Two results as one ZIP.
  await cards.filter({ hasText: 'harbour.png' }).locator('input[type="checkbox"]').check();
  await cards.filter({ hasText: 'street.png' }).locator('input[type="checkbox"]').check();
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click('[data-testid="zip-form"] button[type="submit"]'),
  ]);
  assert.equal(download.suggestedFilename(), 'tinct-results.zip');
  const zip = readFileSync(await download.path());
  assert.equal(zip.subarray(0, 4).toString('hex'), '504b0304');
  for (const name of ['harbour_colorized.png', 'street_colorized.png', 'harbour_colorized.png.xmp', 'manifest.csv']) {
    assert.ok(zip.includes(Buffer.from(name)), `${name} is not in the ZIP`);
  }

  await cards.filter({ hasText: 'harbour.png' }).locator('a').click();
  await page.waitForURL(/\/gallery\/[0-9a-f-]{36}$/);
  const compare = page.locator('[data-testid="compare"]');
  await compare.waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('.compare img')].every((img) => img.complete && img.naturalWidth === 240));
  assert.match(await compare.getAttribute('style'), /--pos: 50%/);
  await page.locator('[data-testid="compare-slider"]').fill('20');
  assert.match(await compare.getAttribute('style'), /--pos: 20%/);
  const clip = await page.locator('.compare img.after').evaluate((img) => getComputedStyle(img).clipPath);
  assert.match(clip, /inset\(0(px)? 0(px)? 0(px)? 20%\)/);
  // 100 %: full-size previews, one image pixel per screen pixel, panned in a scrolling viewport.
  await page.selectOption('[data-testid="zoom"]', 'full');
  await page.waitForFunction(() => [...document.querySelectorAll('.compare img')]
    .every((img) => img.src.includes('size=full') && img.complete && img.naturalWidth === 240));
  assert.equal(await compare.evaluate((el) => Math.round(el.getBoundingClientRect().width)), 240);
  assert.match(await compare.getAttribute('style'), /--pos: 20%/);
  await page.selectOption('[data-testid="zoom"]', 'fit');

  const facts = await page.locator('[data-testid="provenance"]').innerText();
  assert.match(facts, /tinct-mini \(sha256 [0-9a-f]{12}…\)/);
  assert.match(facts, /portrait/);
  assert.match(facts, /240 × 160 px/);
  // This server has no signing certificate, and the detail view says the result is not signed.
  assert.match(
    await page.locator('[data-testid="content-credentials"]').innerText(),
    /^Not signed \(no signing certificate was configured when it was made\)$/,
  );
  assert.match(await page.locator('.ai-label').innerText(), /AI-assisted colorization/);
  await page.screenshot({ path: path.join(outputDir, 'detail.png'), fullPage: true });

  const original = await page.request.get(`${server.url}${await page.locator('a', { hasText: 'Download original' }).getAttribute('href')}`);
  assert.equal(original.status(), 200);
  assert.deepEqual(Buffer.from(await original.body()), readFileSync(path.join(repoRoot, 'engine/tests/data/reference_input.png')));
  assert.match(original.headers()['content-disposition'], /attachment; filename="harbour.png"/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('files dropped on the page are uploaded too, with the visible label chosen', async () => {
  const { page, errors } = await openHydrated(session, `${server.url}/upload`);
  const scan = readFileSync(path.join(repoRoot, 'engine/tests/data/reference_input.png')).toString('base64');
  const transfer = await page.evaluateHandle((b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], 'dropped-1.png', { type: 'image/png' }));
    dt.items.add(new File([bytes], 'dropped-2.png', { type: 'image/png' }));
    return dt;
  }, scan);
  await page.dispatchEvent('[data-testid="drop-zone"]', 'dragover', { dataTransfer: transfer });
  await page.dispatchEvent('[data-testid="drop-zone"]', 'drop', { dataTransfer: transfer });
  await page.waitForSelector('[data-testid="start"]:not([disabled])');
  await page.selectOption('[data-testid="visible-label"]', 'zh');
  await page.click('[data-testid="start"]');
  await page.waitForFunction(
    () => document.querySelectorAll('[data-testid="upload-row"][data-status="done"]').length === 2,
    null,
    { timeout: 60_000 },
  );
  assert.deepEqual(await page.locator('[data-testid="upload-row"] .name').allInnerTexts(), ['dropped-1.png', 'dropped-2.png']);
  const batch = new URL(page.url()).searchParams.get('batch');
  const jobs = await (await server.fetch(`${server.url}/api/v1/jobs?batch=${batch}`)).json();
  assert.deepEqual(jobs.map((job) => job.visible_label), ['zh', 'zh']);
  assert.deepEqual(errors, []);
  await page.close();
});

test('History lists the jobs, filters them, and says in plain words why one failed', async () => {
  // A PNG whose image data is damaged (its header and end are intact) passes the upload check
  // and fails when colorized. (A PNG cut short is refused at upload.)
  const png = Buffer.from(readFileSync(path.join(repoRoot, 'engine/tests/data/reference_input.png')));
  png.fill(0x55, Math.floor(png.length / 3), Math.floor(png.length / 2));
  const form = new FormData();
  form.append('images', new Blob([png], { type: 'image/png' }), 'torn-scan.png');
  const submitted = await (await server.fetch(`${server.url}/api/v1/jobs`, { method: 'POST', body: form })).json();
  assert.equal(submitted.files[0].accepted, true);
  const id = submitted.files[0].job_id;
  for (let i = 0; ; i++) {
    const job = await (await server.fetch(`${server.url}/api/v1/jobs/${id}`)).json();
    if (job.status === 'failed') break;
    assert.ok(i < 300, `job never failed: ${JSON.stringify(job)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const { page, errors } = await openHydrated(session, `${server.url}/history`);
  const rows = page.locator('[data-testid="jobs-table"] tbody tr');
  assert.equal(await rows.count(), 6);
  await page.selectOption('[data-testid="history-filters"] select[name="status"]', 'failed');
  await page.click('[data-testid="history-filters"] button[type="submit"]');
  await page.waitForURL(/status=failed/);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="jobs-table"] tbody tr').length === 1);
  const failed = await rows.first().innerText();
  assert.match(failed, /torn-scan\.png/);
  assert.match(failed, /could not be decoded/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a result can be colorized again with another preset, and the new one deleted', async () => {
  const { page, errors } = await openHydrated(session, `${server.url}/gallery`);
  const cards = page.locator('[data-testid="gallery-grid"] .gallery-item');
  const before = await cards.count();
  await cards.filter({ hasText: 'harbour.png' }).locator('a').click();
  await page.waitForURL(/\/gallery\/[0-9a-f-]{36}$/);
  const oldUrl = page.url();
  await page.selectOption('[data-testid="rerun-preset"]', 'building');
  await page.click('[data-testid="rerun-job"]');
  await page.waitForURL((url) => url.href !== oldUrl && /\/gallery\/[0-9a-f-]{36}$/.test(url.pathname));
  const id = page.url().split('/').pop();
  for (let i = 0; ; i++) {
    const job = await (await server.fetch(`${server.url}/api/v1/jobs/${id}`)).json();
    if (job.status === 'done') break;
    assert.ok(i < 600, `the re-run never finished: ${JSON.stringify(job)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await page.reload();
  await page.waitForSelector('body[data-hydrated]');
  const facts = await page.locator('[data-testid="provenance"]').innerText();
  assert.match(facts, /building/);
  // The detail view shows the size the model actually ran at: the building preset asks for
  // 1024, and the default model runs only at its best size, 256.
  const rerun = await (await server.fetch(`${server.url}/api/v1/jobs/${id}`)).json();
  assert.equal(rerun.input_size, 256);
  assert.match(facts, /256 px/);

  await page.click('[data-testid="delete-job"]');
  await page.click('[data-testid="confirm-delete"]');
  await page.waitForURL(/\/gallery$/);
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid="gallery-grid"] .gallery-item').length === n, before);
  assert.equal((await server.fetch(`${server.url}/api/v1/jobs/${id}`)).status, 404);
  // The first result of that scan is still there, with its original.
  const original = await server.fetch(`${server.url}${await cards.filter({ hasText: 'harbour.png' }).locator('a').getAttribute('href')}`.replace('/gallery/', '/api/v1/jobs/') + '/original');
  assert.equal(original.status, 200);
  assert.deepEqual(errors, []);
  await page.close();
});
