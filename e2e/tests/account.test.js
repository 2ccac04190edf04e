// An admin turns on two-step login from the Account tab with an
// authenticator's code, logs in again with a code, and changes the
// password; the pages hydrate under the Content-Security-Policy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { start, open, ADMIN } from './harness.js';

let urna;
before(async () => { urna = await start(); });
after(async () => { await urna?.stop(); });

/** RFC 6238 (SHA-1, 6 digits, 30 s), as an authenticator app computes it. */
function totp(base32, unixSecs) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of base32.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSecs / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

async function logIn(page, password) {
  await page.getByLabel('Username').fill(ADMIN.username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

test('the pages carry a CSP that allows only urna\'s own scripts and inline ones by hash or nonce, and still hydrate', async () => {
  await urna.admin.openPoll('e2e-csp');
  const page = await urna.page();
  await page.addInitScript(() => {
    window.violations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const res = await page.goto(`${urna.base}/p/e2e-csp`);
  const csp = res.headers()['content-security-policy'];
  // The voting page is the same bytes for every reader: no nonce, each
  // inline script named by its hash.
  const scripts = csp.split(';').find((d) => d.trim().startsWith('script-src')).trim();
  assert.match(scripts, /^script-src 'self'( 'sha256-[A-Za-z0-9+/]+=*')+ 'wasm-unsafe-eval'$/, csp);
  assert.equal(res.headers()['cross-origin-opener-policy'], 'same-origin');
  assert.match(res.headers()['permissions-policy'], /camera=\(\)/);
  await page.waitForSelector('body[data-hydrated]', { timeout: 15_000 });
  const inline = await page.evaluate(() => [...document.querySelectorAll('script:not([src])')].map((s) => s.nonce));
  assert.ok(inline.length > 0 && inline.every((n) => n === ''), JSON.stringify(inline));
  assert.deepEqual(await page.evaluate(() => window.violations), [], 'no script was refused');
  // A page rendered for each request keeps Leptos's nonce.
  const admin = await page.goto(`${urna.base}/admin`);
  const nonce = admin.headers()['content-security-policy'].match(/script-src 'self' 'nonce-([^']+)' 'wasm-unsafe-eval';/)?.[1];
  assert.ok(nonce, admin.headers()['content-security-policy']);
  await page.waitForSelector('body[data-hydrated]', { timeout: 15_000 });
  const adminInline = await page.evaluate(() => [...document.querySelectorAll('script:not([src])')].map((s) => s.nonce));
  assert.ok(adminInline.every((n) => n === nonce), JSON.stringify(adminInline));
  assert.deepEqual(await page.evaluate(() => window.violations), []);
});

test('an admin turns on two-step login, logs in with a code, and changes the password', async () => {
  const page = await urna.page();
  await open(page, urna.base, '/admin/account');
  await logIn(page, ADMIN.password);
  const twoStep = page.getByTestId('two-step');
  await twoStep.getByTestId('two-step-state').filter({ hasText: /^Off:/ }).waitFor();

  await twoStep.getByLabel('Current password').fill(ADMIN.password);
  await twoStep.getByRole('button', { name: 'Set up' }).click();
  const secret = (await twoStep.getByTestId('totp-secret').textContent()).trim();
  assert.match(secret, /^[A-Z2-7]{32}$/);
  assert.ok(await twoStep.getByRole('img', { name: 'QR code' }).isVisible());
  const now = Date.now() / 1000;
  await twoStep.getByLabel('One-time code').fill(totp(secret, now));
  await twoStep.getByRole('button', { name: 'Turn on' }).click();
  await twoStep.getByTestId('two-step-state').filter({ hasText: /^On:/ }).waitFor();

  await page.getByRole('button', { name: 'Log out' }).click();
  await logIn(page, ADMIN.password);
  // The password was right: the form asks for a code.
  await page.getByLabel('One-time code').fill('000000');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('alert').filter({ hasText: 'wrong or was used' }).waitFor();
  // The code that turned it on is spent; the next one logs in.
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByLabel('One-time code').fill(totp(secret, now + 30));
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'Log out' }).waitFor();

  const change = page.getByTestId('change-password');
  await change.getByLabel('Current password').fill('not the password');
  await change.getByLabel(/New password/).fill('a different long password');
  await change.getByRole('button', { name: 'Change password' }).click();
  await change.getByRole('alert').filter({ hasText: 'current password is wrong' }).waitFor();
  await change.getByLabel('Current password').fill(ADMIN.password);
  await change.getByRole('button', { name: 'Change password' }).click();
  await change.getByRole('status').filter({ hasText: 'Password changed' }).waitFor();
  const old = await fetch(`${urna.base}/api/admin/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...ADMIN, totp: totp(secret, now + 60) }),
  });
  assert.equal(old.status, 401, 'the old password no longer works');
});
