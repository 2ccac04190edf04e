// Starts a real urna (release build, SQLite in a temporary directory, the
// built site) on a free loopback port, with one admin, and a headless
// Debian Chromium driven by playwright-core. Everything stops by itself.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const ADMIN = { username: 'admin', password: 'e2e-password-long-enough' };

const bin = process.env.URNA_BIN;
const siteRoot = process.env.URNA_SITE_ROOT;
if (!bin || !siteRoot) throw new Error('set URNA_BIN and URNA_SITE_ROOT (scripts/test-ui.sh does)');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function waitReady(base, child) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`urna exited with ${child.exitCode}`);
    try { if ((await fetch(`${base}/readyz`)).ok) return; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('urna did not become ready in 30 s');
}

/** A running urna with an admin API client and a browser. With
 * `{ firstRun: true }` no admin exists: `setupLink` is the one-time link
 * the server printed, and there is no admin client. */
export async function start({ firstRun = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'urna-e2e-'));
  const env = { ...process.env, URNA_DATA_DIR: dir, URNA_ADMIN_PASSWORD: ADMIN.password, DATABASE_URL: '', REDIS_URL: '' };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  if (!firstRun) execFileSync(bin, ['create-admin', ADMIN.username], { env, stdio: 'ignore' });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let printed = '';
  const serve = () => {
    const c = spawn(bin, ['serve', '--bind', `127.0.0.1:${port}`, '--site-root', siteRoot], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    c.stdout.on('data', (d) => { printed += d; });
    return c;
  };
  const stopped = (c) => new Promise((r) => (c.exitCode !== null ? r() : c.once('exit', r)));
  let child = serve();
  await waitReady(base, child);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  const admin = firstRun ? null : await adminClient(base);
  const linkIn = () => printed.match(/http:\/\/\S+\/admin\/setup\?token=[0-9a-f]+/)?.[0];
  for (const deadline = Date.now() + 10_000; firstRun && !linkIn() && Date.now() < deadline;) {
    await new Promise((r) => child.stdout.once('data', r).once('close', r));
  }
  const setupLink = linkIn();
  // An uncaught error in a page (a panic in the wasm shows as
  // `unreachable`) fails the run even when the test's clicks worked.
  const pageErrors = [];
  return {
    base,
    browser,
    admin,
    setupLink,
    /** A fresh browser context (its own cookies) and page, in `locale`. */
    async page(locale = 'en-US') {
      const context = await browser.newContext({ locale, acceptDownloads: true });
      const page = await context.newPage();
      page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
      // So does anything the Content-Security-Policy blocked: the pages
      // must hydrate under it without an exception.
      page.on('console', (m) => {
        if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) pageErrors.push(`${page.url()}: ${m.text()}`);
      });
      return page;
    },
    /** Stops the server gracefully and starts it again on the same port and data. */
    async restart(downMs = 1000) {
      child.kill('SIGTERM');
      await stopped(child);
      await new Promise((r) => setTimeout(r, downMs));
      child = serve();
      await waitReady(base, child);
    },
    async stop() {
      await browser.close().catch(() => {});
      child.kill('SIGTERM');
      await stopped(child);
      rmSync(dir, { recursive: true, force: true });
      if (pageErrors.length) throw new Error(`uncaught errors in pages:\n${pageErrors.join('\n')}`);
    },
  };
}

/** The admin API, logged in, for setting the scene quickly. */
async function adminClient(base) {
  const login = await fetch(`${base}/api/admin/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN),
  });
  if (!login.ok) throw new Error(`login: ${login.status}`);
  const cookie = login.headers.get('set-cookie').split(';')[0];
  const { csrf_token: csrf } = await login.json();
  const call = async (method, path, body) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { cookie, 'x-csrf-token': csrf, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.status === 204 ? null : res.json();
  };
  return {
    call,
    /** Creates and opens a poll (in English unless `extra` says); returns it. */
    async openPoll(slug, options = ['Alpha', 'Beta'], extra = {}) {
      const body = { slug, title: `Poll ${slug}`, language: 'en', options: options.map((label) => ({ label })), ...extra };
      const poll = await call('POST', '/api/admin/polls', body);
      return call('POST', `/api/admin/polls/${poll.id}/open`);
    },
  };
}

/** Loads `path` and waits until the page is hydrated (interactive). */
export async function open(page, base, path) {
  await page.goto(`${base}${path}`);
  await page.waitForSelector('body[data-hydrated]', { timeout: 15_000 });
}
