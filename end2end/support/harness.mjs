// Starts the built Tinct server on a free loopback port with a fresh data directory, and
// launches Debian's Chromium through playwright-core.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');
export const outputDir = path.join(repoRoot, 'end2end', 'test-results');
mkdirSync(outputDir, { recursive: true });

/**
 * Starts `tinct serve`. Options: `dataDir` (reuse one, e.g. after a crash; default a fresh
 * temporary folder) and `env` (extra environment).
 */
/** The admin every test server starts with (created with the CLI, as an operator would). */
export const admin = { name: 'e2e-admin', password: 'e2e-admin-password' };

export async function startServer({ dataDir = mkdtempSync(path.join(tmpdir(), 'tinct-e2e-')), env = {} } = {}) {
  const bin = process.env.TINCT_BIN ?? path.join(repoRoot, 'target', 'debug', 'tinct');
  const serverEnv = {
    TINCT_SITE_ROOT: path.join(repoRoot, 'target', 'site-debug'),
    ...process.env,
    TINCT_DATA_DIR: dataDir,
    TINCT_LOG: 'info',
    ...env,
  };
  const cli = (args, input = '') => {
    const run = spawnSync(bin, args, { cwd: repoRoot, env: serverEnv, input, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`tinct ${args.join(' ')} failed:\n${run.stdout}${run.stderr}`);
    return run.stdout.trim();
  };
  cli(['user', 'add', admin.name, '--role', 'admin', '--if-no-users'], `${admin.password}\n`);
  const token = cli(['token', 'create', '--user', admin.name, '--name', 'e2e', '--scopes', 'submit,read,admin']);
  const child = spawn(bin, ['serve', '--bind', '127.0.0.1:0'], {
    cwd: repoRoot,
    env: serverEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  child.stderr.on('data', (chunk) => { logs += chunk; });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 120 s:\n${logs}`)), 120_000);
    child.stdout.on('data', (chunk) => {
      const match = /running at (http:\/\/\S+?)\/?\s/.exec(String(chunk));
      if (match) { clearTimeout(timer); resolve(match[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited with ${code}:\n${logs}`)); });
  });
  await waitForHealth(url);
  return {
    url,
    dataDir,
    token,
    cli,
    logs: () => logs,
    /** `fetch` with the admin's API token. */
    fetch(resource, init = {}) {
      return fetch(resource, { ...init, headers: { Authorization: `Bearer ${token}`, ...init.headers } });
    },
    /** A browser context signed in as `who` (default: the admin), through the login endpoint. */
    async signIn(browser, who = admin) {
      const context = await browser.newContext();
      const response = await context.request.post(`${url}/api/login`, {
        form: { name: who.name, password: who.password },
        headers: { Origin: url },
        maxRedirects: 0,
      });
      if (response.status() >= 400) throw new Error(`sign-in failed: ${response.status()} ${await response.text()}`);
      return context;
    },
    /** Stops the server (`SIGKILL` to simulate a crash) and removes its data unless kept. */
    async stop({ signal = 'SIGTERM', keepData = false } = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill(signal);
        await exited;
      }
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function waitForHealth(url) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) return;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`${url}/healthz never answered 200`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Opens `url` in `context` (a browser or a signed-in context) and waits until the wasm bundle
 * has hydrated the page. */
export async function openHydrated(context, url) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  const response = await page.goto(url);
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 30_000 });
  return { page, response, errors };
}

const axeSource = readFileSync(path.join(repoRoot, 'end2end', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

/**
 * Runs axe-core (WCAG 2.1 A and AA rules) on the page as it stands and answers its serious and
 * critical violations, one line each with the elements concerned. The script is evaluated
 * through the browser's debugging protocol, so the page's Content-Security-Policy stays on.
 */
export async function seriousViolations(page) {
  await page.evaluate(axeSource);
  const results = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    resultTypes: ['violations'],
  }));
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 4).map((n) => n.target.join(' ')).join(' | ')}`);
}
