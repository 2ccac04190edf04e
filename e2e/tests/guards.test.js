// A person votes on a poll with proof of work (the solving happens unseen,
// in a Web Worker) and through an invite link.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { start, open, ADMIN } from './harness.js';

let urna;
before(async () => { urna = await start(); });
after(async () => { await urna?.stop(); });

test('a voter votes on a poll with proof of work without noticing it', async () => {
  await urna.admin.openPoll('e2e-pow', ['Alpha', 'Beta'], { pow: { difficulty: 50000 } });
  const voter = await urna.page();
  const proofs = [];
  voter.on('request', (r) => { if (r.url().endsWith('/votes')) proofs.push(r.headers()['x-urna-pow']); });
  await open(voter, urna.base, '/p/e2e-pow');
  for (let i = 0; i < 2; i++) {
    await voter.getByRole('button', { name: 'Vote for Alpha' }).click();
    await voter.locator('[data-testid=vote-feedback][data-outcome=recorded]').waitFor();
    await voter.getByRole('button', { name: 'Vote for Alpha' }).and(voter.locator(':enabled')).waitFor();
  }
  assert.equal(proofs.length, 2);
  assert.ok(proofs.every((p) => p && JSON.parse(Buffer.from(p, 'base64').toString()).algorithm === 'SHA-256'));
  assert.notEqual(proofs[0], proofs[1], 'each vote spends its own challenge');
  const results = await (await fetch(`${urna.base}/api/polls/e2e-pow/results`)).json();
  assert.equal(results.total_votes, 2);
  // A script that does not solve gets nothing counted.
  const bare = await fetch(`${urna.base}/api/polls/e2e-pow/votes`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ option_id: results.tracks[0].options[0].option_id }),
  });
  assert.equal(bare.status, 403);
  assert.equal((await bare.json()).code, 'pow-required');
});

test('a voter follows an invite link, the code leaves the address bar, and it votes once', async () => {
  const poll = await urna.admin.openPoll('e2e-invite', ['Sim', 'Não'], {
    voter_identity: 'invite', tracks: [{ name: 'main', dedupe: 'one_per_voter' }],
  });
  const { codes } = await urna.admin.call('POST', `/api/admin/polls/${poll.id}/invites`, { count: 1 });
  const voter = await urna.page();
  await open(voter, urna.base, `/p/e2e-invite?invite=${codes[0]}`);
  await voter.waitForFunction(() => !location.search.includes('invite='));
  await voter.getByRole('button', { name: 'Vote for Sim' }).click();
  await voter.locator('[data-testid=vote-feedback][data-outcome=recorded]').waitFor();
  assert.deepEqual(await urna.admin.call('GET', `/api/admin/polls/${poll.id}/invites`), { total: 1, used: 1 });
  // The same code in another browser is spent.
  const other = await urna.page();
  await open(other, urna.base, `/p/e2e-invite?invite=${codes[0]}`);
  await other.getByRole('button', { name: 'Vote for Não' }).click();
  await other.locator('[data-testid=vote-feedback][data-outcome=already-voted]').waitFor();
  // A made-up code is told so.
  const stranger = await urna.page();
  await open(stranger, urna.base, '/p/e2e-invite?invite=ZZZZ-ZZZZ-ZZZZ');
  await stranger.getByRole('button', { name: 'Vote for Sim' }).click();
  await stranger.locator('[data-testid=vote-feedback][data-outcome=invite-invalid]').waitFor();
  const results = await (await fetch(`${urna.base}/api/polls/e2e-invite/results`)).json();
  assert.equal(results.total_votes, 1);
});

test('an admin turns on proof of work and makes invite codes in the dashboard', async () => {
  const poll = await urna.admin.openPoll('e2e-admin-guards', ['Um', 'Dois'], {
    voter_identity: 'invite', tracks: [{ name: 'main', dedupe: 'one_per_voter' }],
  });
  const page = await urna.page();
  await open(page, urna.base, '/admin');
  await page.getByLabel('Username').fill(ADMIN.username);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText(`Signed in as ${ADMIN.username}`).waitFor();
  await open(page, urna.base, `/admin/polls/${poll.id}`);
  await page.locator('h1', { hasText: 'Poll e2e-admin-guards' }).waitFor();
  assert.equal(await page.locator('[data-testid=pow-now]').count(), 0, 'no proof of work yet');

  await page.locator('select[name=pow]').selectOption('auto');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.locator('form.editor .feedback.ok').waitFor();
  await page.reload();
  await page.waitForSelector('body[data-hydrated]');
  const pow = page.locator('[data-testid=pow-now]');
  await pow.waitFor();
  assert.match(await pow.innerText(), /difficulty 20000 now, about \d+\.\d s on a mid-range phone/);
  assert.equal(await page.locator('select[name=pow]').inputValue(), 'auto');

  const stats = page.locator('[data-testid=invite-stats]');
  await stats.filter({ hasText: '0 codes, 0 used' }).waitFor();
  await page.locator('input[name=invite-count]').fill('3');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Make codes (CSV)' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'e2e-admin-guards-invites.csv');
  const csv = readFileSync(await download.path(), 'utf8').trim().split(/\r?\n/);
  assert.equal(csv[0], 'code,link');
  assert.equal(csv.length, 4);
  assert.match(csv[1], /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4},\/p\/e2e-admin-guards\?invite=/);
  await stats.filter({ hasText: '3 codes, 0 used' }).waitFor();
});
