// Page weight, on the release bundle (wasm-opt, precompressed): a first visit transfers under
// 1.2 MB and a gallery page of 50 photos under 2 MB, counted by the browser's own network log
// (bytes on the wire, headers included).
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { launchBrowser, outputDir, repoRoot, startServer } from '../support/harness.mjs';

const site = process.env.TINCT_RELEASE_SITE_ROOT;
let server;
let browser;
const measured = {};

before(async () => {
  assert.ok(site, 'TINCT_RELEASE_SITE_ROOT must name the release bundle (scripts/test.sh builds it)');
  server = await startServer({ env: { TINCT_SITE_ROOT: site } });
  browser = await launchBrowser();
});

after(async () => {
  mkdirSync(outputDir, { recursive: true });
  writeFileSync(path.join(outputDir, 'page-weight.json'), JSON.stringify(measured, null, 2));
  await browser?.close();
  await server?.stop();
});

/** Opens `address` in a fresh signed-in browser (nothing cached), scrolls to the end so that
 * lazy images load too, and answers the bytes transferred and each response's encoding. */
async function visit(address) {
  const context = await server.signIn(browser);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  let bytes = 0;
  cdp.on('Network.loadingFinished', (event) => { bytes += event.encodedDataLength; });
  const encodings = {};
  const caching = {};
  page.on('response', (response) => {
    const name = new URL(response.url()).pathname;
    encodings[name] = response.headers()['content-encoding'] ?? 'none';
    caching[name] = response.headers()['cache-control'];
  });
  await page.goto(`${server.url}${address}`);
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 30_000 });
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  await page.waitForFunction(() => [...document.images].every((img) => img.complete));
  await page.waitForLoadState('networkidle');
  await context.close();
  return { bytes, encodings, caching };
}

test('a first visit transfers under 1.2 MB, with the bundle sent precompressed', async () => {
  const { bytes, encodings, caching } = await visit('/');
  measured.first_visit_bytes = bytes;
  // The bundle's names carry its content's hash, so browsers keep it for a year.
  for (const kind of ['wasm', 'js', 'css']) {
    const name = Object.keys(encodings).find((p) => new RegExp(`^/pkg/tinct\\.[0-9a-f]{16}\\.${kind}$`).test(p));
    assert.ok(name, `no hashed ${kind} file among ${Object.keys(encodings).join(', ')}`);
    assert.equal(encodings[name], 'br', name);
    assert.equal(caching[name], 'public, max-age=31536000, immutable', name);
  }
  assert.ok(bytes < 1.2e6, `the first visit transferred ${bytes} bytes`);
});

test('a gallery page of 50 photos transfers under 2 MB', async () => {
  const scan = readFileSync(path.join(repoRoot, 'engine/tests/data/reference_input.png'));
  const ids = [];
  for (let i = 0; i < 50; i++) {
    // One photo per batch: the same scan in 50 batches is 50 photos.
    const form = new FormData();
    form.append('size', '64');
    form.append('images', new Blob([scan], { type: 'image/png' }), `plate-${String(i).padStart(2, '0')}.png`);
    const answer = await (await server.fetch(`${server.url}/api/v1/jobs`, { method: 'POST', body: form })).json();
    ids.push(answer.files[0].job_id);
  }
  for (let i = 0; ; i++) {
    const jobs = await (await server.fetch(`${server.url}/api/v1/jobs?status=done`)).json();
    if (jobs.length >= 50) break;
    assert.ok(i < 600, `only ${jobs.length} of 50 finished`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const { bytes } = await visit('/gallery');
  measured.gallery_50_bytes = bytes;
  assert.ok(bytes < 2e6, `the gallery of 50 transferred ${bytes} bytes`);
});
