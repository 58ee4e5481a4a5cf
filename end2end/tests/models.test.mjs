// Models in the page: an admin downloads a catalogue model from a (slow) mirror and watches its
// progress live, cancels another, makes the new one the default; a curator tries another model
// on a photo and compares two models over a batch in the gallery. At 390 px nothing overflows.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { launchBrowser, openHydrated, repoRoot, startServer } from '../support/harness.mjs';

const testData = (name) => path.join(repoRoot, 'engine/tests/data', name);
const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

let server;
let mirror;
let browser;
let session;

/** An internal mirror that sends 64 bytes every 60 ms, so a download takes a few seconds. */
function startMirror() {
  const http = createServer((request, response) => {
    const name = path.basename(decodeURIComponent(request.url));
    let bytes;
    try { bytes = readFileSync(testData(name)); } catch { response.writeHead(404).end(); return; }
    response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': bytes.length });
    let at = 0;
    const timer = setInterval(() => {
      if (response.destroyed) { clearInterval(timer); return; }
      response.write(bytes.subarray(at, at + 64));
      at += 64;
      if (at >= bytes.length) { clearInterval(timer); response.end(); }
    }, 60);
  });
  return new Promise((resolve) => http.listen(0, '127.0.0.1', () => resolve(http)));
}

function entry(name, file, family, withSha) {
  return `
[[model]]
name = "${name}"
display_name = "Test ${name}"
family = "${family}"
urls = ["https://publisher.invalid/models/${file}"]
${withSha ? `sha256 = "${sha256(testData(file))}"` : ''}
checksum_source = "computed by the browser test"
licence = "MIT (test graph)"
source = "tools/reference/make_test_data.py"
input_size = { best = 64, min = 32, max = 128 }
precision = "float32"
note = "A generated test graph."
`;
}

before(async () => {
  mirror = await startMirror();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tinct-e2e-models-'));
  mkdirSync(path.join(dataDir, 'models'), { recursive: true });
  writeFileSync(path.join(dataDir, 'models', 'catalogue.toml'),
    entry('zhang-tiny', 'tiny_zhang_eccv16.onnx', 'zhang', true)
    + entry('deoldify-tiny', 'tiny_deoldify.onnx', 'deoldify', false));
  server = await startServer({
    dataDir,
    env: { TINCT_MODELS_MIRROR: `http://127.0.0.1:${mirror.address().port}/m` },
  });
  browser = await launchBrowser();
  session = await server.signIn(browser);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  mirror?.close();
});

async function finished(id) {
  for (let i = 0; ; i++) {
    const job = await (await server.fetch(`${server.url}/api/v1/jobs/${id}`)).json();
    if (['done', 'failed'].includes(job.status)) return job;
    assert.ok(i < 600, `the job never finished: ${JSON.stringify(job)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('an admin downloads with live progress, cancels, and sets the default; a curator compares models', async () => {
  const { page, errors } = await openHydrated(session, `${server.url}/admin`);
  const catalogue = page.getByTestId('catalogue');
  // The shipped catalogue is listed with its licences, and the administrator's entries too.
  await page.locator('tr[data-entry="ddcolor-tiny-512-int8"]').getByText('Apache-2.0', { exact: false }).waitFor();
  assert.match(await catalogue.textContent(), /not published/);

  // Download: the progress bar moves in the page, then the model is installed.
  await page.locator('tr[data-entry="zhang-tiny"]').getByRole('button', { name: 'Download Test zhang-tiny' }).click();
  const row = page.locator('li[data-download="zhang-tiny"]');
  const bar = row.locator('progress');
  await bar.waitFor({ timeout: 10_000 });
  await page.waitForFunction(() => {
    const p = document.querySelector('li[data-download="zhang-tiny"] progress');
    return p && Number(p.value) > 0 && Number(p.value) < Number(p.max);
  }, null, { timeout: 10_000 });
  await row.getByText('was downloaded, verified and installed').waitFor({ timeout: 30_000 });
  const installed = page.locator('tr[data-model="zhang-tiny"]');
  await installed.waitFor();
  assert.match(await installed.textContent(), /MIT \(test graph\)/);
  assert.match(await installed.textContent(), /Zhang/);

  // An entry without a published checksum asks for one; then a download is cancelled.
  const deoldify = page.locator('tr[data-entry="deoldify-tiny"]');
  await deoldify.getByLabel('SHA-256 you trust').fill(sha256(testData('tiny_deoldify.onnx')));
  await deoldify.getByRole('button', { name: 'Download Test deoldify-tiny' }).click();
  const cancelling = page.locator('li[data-download="deoldify-tiny"]');
  await cancelling.getByRole('button', { name: 'Cancel' }).click();
  await cancelling.getByText('was cancelled').waitFor({ timeout: 10_000 });
  assert.equal(await page.locator('tr[data-model="deoldify-tiny"]').count(), 0);

  // The new model becomes the default.
  await installed.getByRole('button', { name: 'Make default: Test zhang-tiny' }).click();
  await installed.locator('.badge', { hasText: 'default' }).waitFor();

  await page.setViewportSize({ width: 390, height: 800 });
  assert.ok(await page.evaluate(() => document.scrollingElement.scrollWidth <= 390), 'the Admin page fits 390 px');
  assert.deepEqual(errors, []);

  // A photo coloured by the default (now zhang-tiny), then "try another model": tinct-mini.
  const scan = readFileSync(testData('reference_input.png'));
  const form = new FormData();
  form.append('size', '64');
  form.append('images', new Blob([scan], { type: 'image/png' }), 'harbour.png');
  const submitted = await (await server.fetch(`${server.url}/api/v1/jobs`, { method: 'POST', body: form })).json();
  const first = await finished(submitted.files[0].job_id);
  assert.equal(first.model, 'zhang-tiny');
  const detail = await openHydrated(session, `${server.url}/gallery/${first.id}`);
  await detail.page.getByTestId('rerun-model').selectOption('tinct-mini');
  await detail.page.getByTestId('rerun-job').click();
  await detail.page.waitForURL((url) => !url.pathname.endsWith(first.id), { timeout: 30_000 });
  const secondId = detail.page.url().split('/').pop();
  const second = await finished(secondId);
  assert.equal(second.model, 'tinct-mini');
  assert.equal(second.batch_id, first.batch_id);
  await detail.page.reload();
  const versions = detail.page.getByTestId('versions');
  await versions.getByText('tinct-mini', { exact: false }).waitFor();
  assert.match(await versions.textContent(), /zhang-tiny/);

  // The gallery shows the batch as the two models coloured it.
  const gallery = await openHydrated(session,
    `${server.url}/gallery?batch=${first.batch_id}&compare_a=zhang-tiny&compare_b=tinct-mini`);
  const comparison = gallery.page.getByTestId('model-comparison');
  await comparison.waitFor();
  assert.equal(await comparison.locator('img').count(), 2);
  assert.match(await comparison.textContent(), /harbour\.png/);
  assert.equal(await gallery.page.getByTestId('compare-a').inputValue(), 'zhang-tiny');
});
