// Review and correct in the page: a colour hint placed by clicking changes the preview, is
// applied as a new version that appears live, the versions are compared with the slider, the
// photo is approved with a note, the gallery filters by "approved", and the approved set
// downloads as a ZIP whose XMP and manifest hold the hints and the decision.
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

async function submit(name) {
  const scan = readFileSync(path.join(repoRoot, 'engine/tests/data/reference_input.png'));
  const form = new FormData();
  form.append('images', new Blob([scan], { type: 'image/png' }), name);
  const submitted = await (await server.fetch(`${server.url}/api/v1/jobs`, { method: 'POST', body: form })).json();
  const id = submitted.files[0].job_id;
  for (let i = 0; ; i++) {
    const job = await (await server.fetch(`${server.url}/api/v1/jobs/${id}`)).json();
    if (job.status === 'done') return id;
    assert.ok(i < 600, `the job never finished: ${JSON.stringify(job)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The colour of an image on the page at (fx, fy), fractions of its size. */
function pixel(page, selector, fx, fy) {
  return page.locator(selector).evaluate((img, [fx, fy]) => {
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const context = canvas.getContext('2d');
    context.drawImage(img, 0, 0);
    return [...context.getImageData(Math.floor(fx * img.naturalWidth), Math.floor(fy * img.naturalHeight), 1, 1).data.slice(0, 3)];
  }, [fx, fy]);
}

const loaded = (selector) => (page) => page.waitForFunction(
  (s) => { const img = document.querySelector(s); return img && img.complete && img.naturalWidth > 0; },
  selector,
  { timeout: 30_000 },
);

test('a curator corrects a colour with a hint, compares, approves and downloads the approved set', async () => {
  const first = await submit('quay.png');
  await submit('other.png');
  const { page, errors } = await openHydrated(session, `${server.url}/gallery/${first}`);
  const preview = '[data-testid="correction-preview"]';
  await loaded(preview)(page);
  const before = await pixel(page, preview, 0.5, 0.5);

  // Pick a green, click the middle of the image: a hint, and the preview changes.
  await page.locator('[data-testid="hint-colour"]').fill('#1f8f2f');
  const box = await page.locator(preview).boundingBox();
  await page.locator(preview).click({ position: { x: box.width / 2, y: box.height / 2 } });
  assert.equal(await page.locator('[data-testid="hint"]').count(), 1);
  await page.waitForFunction((s) => document.querySelector(s).src.includes('correction-preview'), preview);
  await page.waitForFunction(() => /Preview of your correction \(1 hint, strength 100 %\)/.test(document.querySelector('[data-testid="preview-state"]').textContent));
  await loaded(preview)(page);
  const after = await pixel(page, preview, 0.5, 0.5);
  const greenness = ([r, g, b]) => g - (r + b) / 2;
  assert.ok(greenness(after) > greenness(before) + 10, `the preview did not turn green: ${before} → ${after}`);

  // Undo removes the hint, redo brings it back.
  await page.click('[data-testid="undo"]');
  assert.equal(await page.locator('[data-testid="hint"]').count(), 0);
  await page.click('[data-testid="redo"]');
  assert.equal(await page.locator('[data-testid="hint"]').count(), 1);

  // A short stroke dragged across the image is a row of hints, undone in one step.
  await page.locator(preview).scrollIntoViewIfNeeded();
  const area = await page.locator(preview).boundingBox();
  await page.mouse.move(area.x + area.width * 0.2, area.y + area.height * 0.2);
  await page.mouse.down();
  await page.mouse.move(area.x + area.width * 0.35, area.y + area.height * 0.2, { steps: 5 });
  await page.mouse.up();
  const stroked = await page.locator('[data-testid="hint"]').count();
  assert.ok(stroked >= 8, `a stroke of 15 % gives a row of hints, not ${stroked - 1}`);
  await page.click('[data-testid="undo"]');
  assert.equal(await page.locator('[data-testid="hint"]').count(), 1);

  // Apply: a new version, which appears in the list without a reload when it is ready.
  await page.click('[data-testid="apply-correction"]');
  await page.locator('[data-testid="applied"]').waitFor();
  await page.waitForFunction(
    () => [...document.querySelectorAll('[data-testid="version"]')].filter((v) => / · done · /.test(v.textContent)).length === 2,
    null,
    { timeout: 60_000 },
  );
  const versions = await page.locator('[data-testid="version"]').allInnerTexts();
  assert.match(versions[1], /Version 2 · corrected: 1 hint, strength 100 %/);
  assert.match(versions[1], /chosen/);

  // Compare version 1 (left) with version 2 (right) with the slider.
  const values = await page.locator('[data-testid="compare-right"] option').evaluateAll((options) => options.map((o) => o.value));
  assert.equal(values.length, 3, `original and two versions: ${values}`);
  await page.selectOption('[data-testid="compare-left"]', values[1]);
  await page.selectOption('[data-testid="compare-right"]', values[2]);
  await page.waitForFunction((id) => document.querySelector('[data-testid="compare-right-image"]').src.includes(`/jobs/${id}/preview/result`), values[2]);
  await page.locator('[data-testid="compare-slider"]').fill('30');
  assert.match(await page.locator('[data-testid="compare"]').getAttribute('style'), /--pos: 30%/);
  await loaded('[data-testid="compare-right-image"]')(page);
  const [left, right] = [
    await pixel(page, '[data-testid="compare-left-image"]', 0.5, 0.5),
    await pixel(page, '[data-testid="compare-right-image"]', 0.5, 0.5),
  ];
  assert.ok(greenness(right) > greenness(left) + 10, `version 2 is the green one: ${left} vs ${right}`);

  // Approve with a note.
  await page.fill('[data-testid="review-note-input"]', 'door colour from the 1931 building permit');
  await page.click('[data-testid="approve"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="review-state"]')?.textContent === 'approved');
  assert.match(await page.locator('[data-testid="review"]').innerText(), /by e2e-admin on 20/);
  await page.setViewportSize({ width: 390, height: 800 });
  assert.ok(await page.evaluate(() => document.scrollingElement.scrollWidth <= 390), 'the detail view fits 390 px');
  await page.screenshot({ path: path.join(outputDir, 'review.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });

  // The gallery filtered by "approved" shows the one approved photo, as its chosen version.
  await page.goto(`${server.url}/gallery`);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.selectOption('[data-testid="review-filter"]', 'approved');
  await page.click('form.filters button[type="submit"]');
  await page.waitForURL(/review=approved/);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="gallery-grid"] .gallery-item').length === 1);
  const card = page.locator('[data-testid="gallery-grid"] .gallery-item');
  assert.match(await card.innerText(), /quay\.png/);
  assert.match(await card.locator('a').getAttribute('href'), new RegExp(values[2]));

  // Download the approved set as a ZIP: the XMP has the hint, the manifest the decision.
  await card.locator('input[type="checkbox"]').check();
  await page.check('[data-testid="zip-approved-only"]');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="zip-download"]')]);
  const zip = readFileSync(await download.path()).toString('latin1');
  assert.match(zip, /AI-assisted colorization; colours corrected by a person: 1 hint, strength 100 %/);
  assert.match(zip, /&quot;srgb&quot;:&quot;#1f8f2f&quot;/);
  assert.match(zip, /,approved,door colour from the 1931 building permit,e2e-admin,/);

  // Reject the other photo from the gallery's selection; the history filters by review state.
  await page.goto(`${server.url}/gallery`);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.locator('[data-testid="gallery-grid"] .gallery-item').filter({ hasText: 'other.png' }).locator('input[type="checkbox"]').check();
  await page.fill('[data-testid="bulk-note"]', 'wrong scan');
  await page.click('[data-testid="bulk-reject"]');
  await page.waitForURL(/review=rejected&decided=1/);
  assert.match(await page.locator('[data-testid="bulk-notice"]').innerText(), /1 photo\(s\) marked rejected/);
  await page.goto(`${server.url}/history?review=rejected`);
  await page.waitForSelector('body[data-hydrated="true"]');
  const rows = await page.locator('[data-testid="jobs-table"] tbody tr').allInnerTexts();
  assert.equal(rows.length, 1, rows.join('\n'));
  assert.match(rows[0], /other\.png/);
  assert.match(rows[0], /rejected: wrong scan/);
  // At 390 px the table scrolls inside its region; the page itself does not.
  await page.setViewportSize({ width: 390, height: 800 });
  assert.ok(await page.evaluate(() => document.scrollingElement.scrollWidth <= 390), 'the history fits 390 px');
  assert.deepEqual(errors, []);
  await page.close();
});
