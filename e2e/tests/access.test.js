// The ways into the admin besides a login: the first run's setup link, and
// API tokens made on their own tab and used by a host's systems. Also
// results shown once a person has voted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, open } from './harness.js';

test('on a first run the printed link lets the first admin pick a name and password, once', async () => {
  const urna = await start({ firstRun: true });
  try {
    assert.ok(urna.setupLink, 'urna serve printed a setup link');
    const page = await urna.page();
    await page.goto(urna.setupLink);
    await page.waitForSelector('body[data-hydrated]', { timeout: 15_000 });
    await page.getByRole('heading', { name: 'Create the first admin' }).waitFor();
    await page.getByLabel('Username').fill('founder');
    await page.getByLabel(/New password/).fill('short');
    await page.getByRole('button', { name: 'Create and log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'at least 12 characters' }).waitFor();
    await page.getByLabel(/New password/).fill('a password long enough');
    await page.getByRole('button', { name: 'Create and log in' }).click();
    await page.getByText('Signed in as founder').waitFor();
    assert.match(page.url(), /\/admin$/);

    // The same link again, in another browser: refused, said plainly.
    const again = await urna.page('pt-BR');
    await again.goto(urna.setupLink);
    await again.waitForSelector('body[data-hydrated]', { timeout: 15_000 });
    await again.getByLabel('Usuário').fill('intruder');
    await again.getByLabel(/Nova senha/).fill('another long password');
    await again.getByRole('button', { name: 'Criar e entrar' }).click();
    await again.getByRole('alert').filter({ hasText: 'já foi usado' }).waitFor();
  } finally {
    await urna.stop();
  }
});

let urna;
before(async () => { urna = await start(); });
after(async () => { await urna?.stop(); });

async function logIn(page) {
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('e2e-password-long-enough');
  await page.getByRole('button', { name: 'Log in' }).click();
}

test('an admin makes an API token, a script uses it, and the admin revokes it', async () => {
  const page = await urna.page();
  await open(page, urna.base, '/admin');
  await logIn(page);
  await page.getByRole('link', { name: 'API tokens' }).click();
  const tab = page.getByTestId('tokens');
  await tab.getByText('No tokens yet.').waitFor();
  await tab.getByLabel('Name').fill('ci-deploy');
  await tab.getByLabel('Role').selectOption('admin');
  await tab.getByLabel(/Expires in/).fill('7');
  await tab.getByRole('button', { name: 'Create token' }).click();
  const token = (await tab.getByTestId('new-token-value').textContent()).trim();
  assert.match(token, /^urna_[0-9a-f]{64}$/);
  await tab.getByText('it is not shown again').waitFor();

  // A host's script, with the token and nothing else.
  const made = await fetch(`${urna.base}/api/admin/polls`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ slug: 'from-ci', title: 'From CI', options: [{ label: 'A' }, { label: 'B' }] }),
  });
  assert.equal(made.status, 201, await made.text());

  // The audit log names the token.
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.getByRole('row').filter({ hasText: 'token:ci-deploy' }).filter({ hasText: 'poll.create' }).waitFor();

  await page.getByRole('link', { name: 'API tokens' }).click();
  const row = tab.getByTestId('token-row').filter({ hasText: 'ci-deploy' });
  await row.getByRole('button', { name: 'Revoke' }).click();
  await row.filter({ hasText: '(revoked)' }).waitFor();
  const refused = await fetch(`${urna.base}/api/admin/polls`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(refused.status, 401);
  assert.equal((await refused.json()).code, 'api-token-invalid');
});

test('results shown after voting: hidden on the live page until this browser has voted', async () => {
  await urna.admin.openPoll('e2e-after', ['Alpha', 'Beta'], { results_visibility: 'after_vote' });
  const page = await urna.page();
  await open(page, urna.base, '/p/e2e-after/live');
  await page.getByTestId('results-hidden').filter({ hasText: 'once you have voted' }).waitFor();

  await open(page, urna.base, '/p/e2e-after');
  await page.getByRole('button', { name: 'Vote for Beta' }).click();
  await page.locator('[data-testid=vote-feedback][data-outcome=recorded]').waitFor();
  await page.getByRole('link', { name: 'See live results' }).click();
  await page.getByTestId('total-votes').filter({ hasText: /^1$/ }).waitFor();

  // Someone who has not voted still sees the notice.
  const other = await urna.page();
  await open(other, urna.base, '/p/e2e-after/live');
  await other.getByTestId('results-hidden').waitFor();
  assert.equal(await other.getByTestId('total-votes').count(), 0);
});
