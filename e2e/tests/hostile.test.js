// Stored script injection: a poll whose every text field carries hostile
// markup is shown as text on every page that shows it, and no injected
// script runs. (Track names are identifiers, `a-z0-9_-`, by validation, so
// they cannot carry markup.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, open, ADMIN } from './harness.js';

let urna;
before(async () => { urna = await start(); });
after(async () => { await urna?.stop(); });

const TITLE = 'x</title><script>window.__pwned=1</script>';
const DESCRIPTION = '<img src=x onerror="window.__pwned=2"><script>window.__pwned=2</script>';
const LABEL = '<script>window.__pwned=3</script>';
const LABEL2 = '"><svg onload=window.__pwned=4>';
// Validation refuses `"`, `<` and spaces in image URLs; this is the worst it lets through.
const IMAGE = "/x.png?'onerror='window.__pwned=5'//";

async function assertInert(page, what) {
  const pwned = await page.evaluate(() => window.__pwned);
  assert.equal(pwned, undefined, `an injected script ran on ${what}`);
  // Leptos serializes the poll into an inline data script (JSON-escaped,
  // inert); an injected script is one whose whole text is the payload.
  const injected = await page.locator('script').evaluateAll((s) => s.filter((e) => /^window\.__pwned=\d$/.test(e.textContent.trim())).length);
  assert.equal(injected, 0, `${what} has an injected <script>`);
  assert.equal(await page.locator('svg[onload], img[onerror]').count(), 0, `${what} has an injected element`);
}

test('a poll with hostile markup in every field is shown as text, and no injected script runs', async () => {
  const created = await urna.admin.call('POST', '/api/admin/polls', {
    slug: 'hostile', title: TITLE, description: DESCRIPTION, language: 'en',
    options: [{ label: LABEL, image_url: IMAGE }, { label: LABEL2 }],
  });
  await urna.admin.call('POST', `/api/admin/polls/${created.id}/open`);

  const voter = await urna.page();
  await open(voter, urna.base, '/p/hostile');
  await assertInert(voter, 'the voting page');
  assert.equal(await voter.title(), TITLE);
  assert.equal(await voter.locator('h1').first().innerText(), TITLE);
  assert.match(await voter.locator('.description').innerText(), /<img src=x onerror=/);
  await voter.getByRole('button', { name: `Vote for ${LABEL}` }).click();
  await voter.locator('[data-testid=vote-feedback][data-outcome=recorded]').waitFor();
  await assertInert(voter, 'the voting page after a vote');

  const live = await urna.page();
  await open(live, urna.base, '/p/hostile/live');
  await live.waitForFunction(() => document.querySelector('[data-testid=total-votes]')?.textContent === '1');
  await assertInert(live, 'the live dashboard');
  assert.ok((await live.title()).startsWith(TITLE));
  assert.match(await live.locator('.bars').first().innerText(), /<script>window\.__pwned=3<\/script>/);
  assert.match(await live.locator('.bars').first().innerText(), /"><svg onload=window\.__pwned=4>/);

  const verify = await urna.page();
  await open(verify, urna.base, '/p/hostile/verify');
  await verify.getByRole('heading', { name: 'Check a vote' }).waitFor();
  await assertInert(verify, 'the verify page');
  assert.ok((await verify.title()).endsWith(TITLE));
  assert.equal(await verify.locator('.description').innerText(), TITLE);

  const admin = await urna.page();
  await open(admin, urna.base, '/admin');
  await admin.getByLabel('Username').fill(ADMIN.username);
  await admin.getByLabel('Password').fill(ADMIN.password);
  await admin.getByRole('button', { name: 'Log in' }).click();
  await admin.getByText(`Signed in as ${ADMIN.username}`).waitFor();
  await admin.getByText(TITLE, { exact: true }).first().waitFor();
  await assertInert(admin, 'the admin poll list');
  await open(admin, urna.base, `/admin/polls/${created.id}`);
  await admin.locator('h1', { hasText: TITLE }).waitFor();
  await admin.locator('[data-testid=total-votes]', { hasText: '1' }).waitFor();
  await assertInert(admin, "the admin's poll page");
  assert.ok((await admin.title()).startsWith(TITLE));
  // The editor on the same page holds the same values in its inputs, unchanged.
  assert.equal(await admin.locator('input[name=title]').inputValue(), TITLE);
  assert.equal(await admin.locator('input[name=option-label]').first().inputValue(), LABEL);
  assert.equal(await admin.locator('input[name=option-image]').first().inputValue(), IMAGE);
});
