// The library an archivist works in, in a real browser: a batch named before Start and found on
// the Batches page, search by file name, select-all and a whole batch as one ZIP, the notice for
// scans already colorized, a reload during an upload, what a viewer sees, and every page checked
// with axe-core and at 390 px (with a screenshot of each at 1280 and 390 px).
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { launchBrowser, openHydrated, outputDir, repoRoot, seriousViolations, startServer } from '../support/harness.mjs';

let server;
let browser;
let session;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  session = await server.signIn(browser);
  server.cli(['user', 'add', 'vera', '--role', 'viewer'], 'vera-password-1\n');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const file = (name, relative) => ({ name, mimeType: 'image/png', buffer: readFileSync(path.join(repoRoot, relative)) });
const harbour = () => file('harbour 1931.png', 'engine/tests/data/reference_input.png');
const street = () => file('street.png', 'engine/tests/data/reference_output.png');

async function jobs() {
  return (await server.fetch(`${server.url}/api/v1/jobs`)).json();
}

async function allDone(page, count) {
  await page.waitForFunction(
    (n) => document.querySelectorAll('[data-testid="upload-row"][data-status="done"]').length === n,
    count,
    { timeout: 120_000 },
  );
}

test('a batch is named before Start, found on the Batches page, searched, and downloaded whole', async () => {
  const { page, errors } = await openHydrated(session, `${server.url}/upload`);
  await page.setInputFiles('[data-testid="file-input"]', [street(), harbour()]);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="upload-row"]').length === 2);
  // The list comes first: in name order, with sizes, and nothing sent yet.
  const names = await page.locator('[data-testid="upload-row"] .name').allInnerTexts();
  assert.deepEqual(names, ['harbour 1931.png', 'street.png']);
  assert.match(await page.locator('[data-testid="upload-row"]').first().innerText(), /kB/);
  assert.equal((await jobs()).length, 0, 'a file was sent before Start');
  await page.fill('[data-testid="batch-name"]', 'Harbour glass plates');
  await page.fill('[data-testid="batch-description"]', 'Box 12, north quay');
  await page.selectOption('[data-testid="format"]', 'jpeg');
  await page.fill('[data-testid="quality"]', '80');
  assert.equal(await page.locator('[data-testid="start"]').innerText(), 'Start: colorize 2 files');
  await page.click('[data-testid="start"]');
  await allDone(page, 2);
  assert.match(page.url(), /\/upload\?batch=[0-9a-f-]{36}$/);
  // Screen readers were told as files finished.
  assert.match(await page.locator('[data-testid="announcement"]').innerText(), /2 of 2 files finished/);
  const results = await jobs();
  assert.deepEqual(results.map((j) => j.output_format), ['jpeg:80', 'jpeg:80']);

  // The Batches page lists it by name, with its counts; it opens the live batch page.
  await page.goto(`${server.url}/batches`);
  await page.waitForSelector('body[data-hydrated="true"]');
  const card = page.locator('[data-testid="batch-card"]').filter({ hasText: 'Harbour glass plates' });
  assert.match(await card.innerText(), /2 done/);
  assert.match(await card.innerText(), /Box 12, north quay/);
  await card.locator('h2 a').click();
  await page.waitForURL(/\/upload\?batch=/);
  await page.waitForSelector('body[data-hydrated="true"]');
  await allDone(page, 2);
  assert.equal(await page.locator('[data-testid="page-title"]').innerText(), 'Batch: Harbour glass plates');

  // Search by a part of a file name.
  await page.goto(`${server.url}/gallery`);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.fill('[data-testid="search"]', '1931');
  await Promise.all([page.waitForURL(/q=1931/), page.press('[data-testid="search"]', 'Enter')]);
  await page.waitForSelector('[data-testid="gallery-grid"]');
  assert.deepEqual(await page.locator('.gallery-item .name').allInnerTexts(), ['harbour 1931.png']);
  // A search that matches nothing says so (not "no images yet").
  await page.goto(`${server.url}/gallery?q=zeppelin`);
  assert.match(await page.locator('main').innerText(), /Nothing matches/);

  // The batch in the gallery: select all, and the whole batch as one ZIP.
  await page.goto(`${server.url}/gallery`);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.selectOption('[data-testid="batch-filter"]', { label: 'Harbour glass plates' });
  await Promise.all([page.waitForURL(/batch=/), page.click('form.filters button[type="submit"]')]);
  await page.waitForSelector('body[data-hydrated="true"]');
  // Re-running ticked photos offers the installed models as well as the presets.
  assert.ok((await page.locator('[data-testid="bulk-model"] option').allInnerTexts()).length >= 2);
  await page.check('[data-testid="select-all"]');
  assert.equal(await page.locator('.gallery-item input[name="id"]:checked').count(), 2);
  await page.uncheck('[data-testid="select-all"]');
  assert.equal(await page.locator('.gallery-item input[name="id"]:checked').count(), 0);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="zip-batch"]')]);
  const zip = readFileSync(await download.path());
  for (const name of ['harbour 1931_colorized.jpg', 'street_colorized.jpg', 'manifest.csv']) {
    assert.ok(zip.includes(Buffer.from(name)), `${name} is not in the ZIP`);
  }

  // History filters by a batch's name too.
  await page.goto(`${server.url}/history`);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.selectOption('[data-testid="history-batch"]', { label: 'Harbour glass plates' });
  await Promise.all([page.waitForURL(/batch=/), page.click('[data-testid="history-filters"] button[type="submit"]')]);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="jobs-table"] tbody tr').length === 2);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a scan already colorized says so, and can be skipped and then colorized anyway', async () => {
  const { page, errors } = await openHydrated(session, `${server.url}/upload`);
  const before = (await jobs()).length;
  await page.setInputFiles('[data-testid="file-input"]', [harbour()]);
  await page.waitForSelector('[data-testid="start"]:not([disabled])');
  // The page hashes the chosen file and says so on its row before anything is sent.
  const notice = page.locator('[data-testid="upload-row"][data-status="ready"] [data-testid="duplicate-notice"]');
  await notice.waitFor();
  assert.match(await notice.innerText(), /already colorized once: open/);
  assert.equal((await jobs()).length, before, 'a file was sent before Start');
  await page.selectOption('[data-testid="duplicates"]', 'skip');
  await page.click('[data-testid="start"]');
  const row = page.locator('[data-testid="upload-row"]');
  await page.waitForSelector('[data-testid="upload-row"][data-status="skipped"]', { timeout: 60_000 });
  assert.match(await row.locator('[data-testid="duplicate-notice"]').innerText(), /already colorized once: open/);
  const open = await row.locator('[data-testid="duplicate-notice"] a').getAttribute('href');
  assert.match(open, /^\/gallery\/[0-9a-f-]{36}$/);
  // After a reload the skipped file is still part of the batch.
  await page.reload();
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.waitForSelector('[data-testid="upload-row"][data-status="skipped"]');
  await page.click('[data-testid="colorize-anyway"]');
  await allDone(page, 1);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a file cut off by a reload is shown as not uploaded, and is sent again with one click', async () => {
  const { page, errors } = await openHydrated(session, `${server.url}/upload`);
  // The upload hangs (as on a slow line); the reload cuts it off and it never arrives.
  let held;
  await page.route('**/api/v1/jobs', (route) => { held = route; });
  await page.setInputFiles('[data-testid="file-input"]', [file('pier.png', 'engine/tests/data/reference_input.png')]);
  await page.fill('[data-testid="batch-name"]', 'Pier');
  await page.click('[data-testid="start"]');
  await page.waitForSelector('[data-testid="upload-row"][data-status="uploading"]');
  // Leaving now would lose the file: the page asks first.
  const asks = await page.evaluate(() => {
    const leaving = new Event('beforeunload', { cancelable: true });
    window.dispatchEvent(leaving);
    return leaving.defaultPrevented;
  });
  assert.equal(asks, true, 'no warning before leaving during an upload');
  page.on('dialog', (dialog) => dialog.accept());
  await page.reload();
  await page.waitForSelector('body[data-hydrated="true"]');
  await held.abort().catch(() => {});
  await page.unroute('**/api/v1/jobs');
  assert.equal((await jobs()).filter((j) => j.original_name === 'pier.png').length, 0);
  const row = page.locator('[data-testid="upload-row"]');
  await page.waitForSelector('[data-testid="upload-row"][data-status="not_uploaded"]');
  assert.match(await row.innerText(), /pier\.png[\s\S]*Not uploaded/);
  await row.locator('[data-testid="send-again"]').setInputFiles([file('pier.png', 'engine/tests/data/reference_input.png')]);
  await allDone(page, 1);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a 16-bit TIFF is chosen before Start and downloaded from the detail view with its provenance', async () => {
  const { page, errors } = await openHydrated(session, `${server.url}/upload`);
  await page.setInputFiles('[data-testid="file-input"]', [file('master 0042.png', 'engine/tests/data/reference_zhang_eccv16.png')]);
  await page.waitForSelector('[data-testid="start"]:not([disabled])');
  await page.selectOption('[data-testid="format"]', 'tiff');
  await page.click('[data-testid="start"]');
  await allDone(page, 1);
  const job = (await jobs()).find((j) => j.original_name === 'master 0042.png');
  assert.equal(job.output_format, 'tiff');
  await page.goto(`${server.url}/gallery/${job.id}`);
  await page.waitForSelector('body[data-hydrated="true"]');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('text=Download this version')]);
  assert.equal(download.suggestedFilename(), 'master 0042_colorized.tif');
  const tiff = readFileSync(await download.path());
  assert.equal(tiff.subarray(0, 4).toString('latin1'), 'II*\0');
  assert.ok(tiff.includes(Buffer.from('AI-assisted colorization')), 'the XMP label is inside the TIFF');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a viewer sees batches and results, but no upload form and no actions they cannot use', async () => {
  const viewer = await server.signIn(browser, { name: 'vera', password: 'vera-password-1' });
  const { page, errors } = await openHydrated(viewer, `${server.url}/upload`);
  await page.waitForSelector('[data-testid="viewer-note"]');
  assert.equal(await page.locator('[data-testid="file-input"]').count(), 0);
  assert.equal(await page.locator('nav a[href="/upload"]').count(), 0);
  await page.goto(`${server.url}/batches`);
  await page.waitForSelector('[data-testid="batch-card"]');
  await page.goto(`${server.url}/gallery`);
  await page.waitForSelector('[data-testid="gallery-grid"]');
  for (const action of ['bulk-delete', 'bulk-rerun', 'bulk-approve']) {
    assert.equal(await page.locator(`[data-testid="${action}"]`).count(), 0, `${action} shown to a viewer`);
  }
  // Downloading is for everyone who may read.
  assert.equal(await page.locator('[data-testid="zip-download"]').count(), 1);
  assert.deepEqual(errors, []);
  await viewer.close();
});

const screens = path.join(outputDir, 'screens');

async function check(context, who, pages) {
  mkdirSync(screens, { recursive: true });
  const problems = [];
  for (const [name, address] of pages) {
    const { page } = await openHydrated(context, `${server.url}${address}`);
    await page.waitForLoadState('load');
    await page.waitForTimeout(300);
    for (const violation of await seriousViolations(page)) problems.push(`${address}: ${violation}`);
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.screenshot({ path: path.join(screens, `${who}-${name}-1280.png`), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(100);
    const width = await page.evaluate(() => document.scrollingElement.scrollWidth);
    if (width > 390) problems.push(`${address}: ${width} px wide at 390 px`);
    for (const violation of await seriousViolations(page)) problems.push(`${address} at 390 px: ${violation}`);
    await page.screenshot({ path: path.join(screens, `${who}-${name}-390.png`), fullPage: true });
    await page.close();
  }
  assert.deepEqual(problems, []);
}

test('every page passes axe-core and fits 390 px, for an admin, a viewer and a visitor', async () => {
  const [job] = await jobs();
  const batch = job.batch_id;
  await check(session, 'admin', [
    ['home', '/'], ['upload', '/upload'], ['batch', `/upload?batch=${batch}`], ['batches', '/batches'],
    ['gallery', '/gallery'], ['detail', `/gallery/${job.id}`], ['history', '/history'], ['admin', '/admin'],
    ['account', '/account'], ['not-found', '/no-such-page'],
  ]);
  const viewer = await server.signIn(browser, { name: 'vera', password: 'vera-password-1' });
  await check(viewer, 'viewer', [['upload', '/upload'], ['gallery', '/gallery'], ['history', '/history'], ['account', '/account']]);
  const visitor = await browser.newContext();
  await check(visitor, 'visitor', [['login', '/login']]);
});
