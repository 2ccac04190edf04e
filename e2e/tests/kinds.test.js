// A person votes in each kind of poll: one choice, several choices, and a
// ranking counted by instant runoff; an admin makes a ranked poll in the UI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, open, ADMIN } from './harness.js';

let urna;
before(async () => { urna = await start(); });
after(async () => { await urna?.stop(); });

async function results(slug) {
  return (await fetch(`${urna.base}/api/polls/${slug}/results`)).json();
}

test('a person votes with one tap in a single-choice poll', async () => {
  await urna.admin.openPoll('e2e-one', ['Ana', 'Bruno']);
  const page = await urna.page();
  await open(page, urna.base, '/p/e2e-one');
  await page.getByRole('button', { name: 'Vote for Bruno' }).click();
  await page.locator('[data-outcome=recorded]').waitFor();
  const r = await results('e2e-one');
  assert.deepEqual(r.tracks[0].options.map((o) => o.votes), [0, 1]);
});

test('a person ticks up to the most options a multiple-choice poll allows, and votes', async () => {
  await urna.admin.openPoll('e2e-several', ['Ana', 'Bruno', 'Carla'], { kind: 'multiple', max_choices: 2 });
  const page = await urna.page();
  await open(page, urna.base, '/p/e2e-several');
  await page.getByText('Choose up to 2 options.').waitFor();
  const vote = page.getByRole('button', { name: 'Vote', exact: true });
  assert.equal(await vote.isDisabled(), true, 'nothing chosen yet');
  await page.getByRole('checkbox', { name: 'Ana' }).check();
  await page.getByRole('checkbox', { name: 'Carla' }).check();
  assert.equal(await page.getByRole('checkbox', { name: 'Bruno' }).isDisabled(), true, 'two is the most');
  await vote.click();
  await page.locator('[data-outcome=recorded]').waitFor();

  const r = await results('e2e-several');
  assert.deepEqual(r.tracks[0].options.map((o) => o.votes), [1, 0, 1]);
  assert.equal(r.tracks[0].ballots, 1);
  await open(page, urna.base, '/p/e2e-several/live');
  await page.getByTestId('ballots').filter({ hasText: /^1$/ }).waitFor();
});

test('a person ranks the options in Portuguese and the live page shows the runoff rounds and the winner', async () => {
  const poll = await urna.admin.openPoll('e2e-ranked', ['Ana', 'Bruno', 'Carla'], { kind: 'ranked', language: 'pt-BR' });
  const [ana, bruno, carla] = poll.options.map((o) => o.id);
  // Others have ranked already: Ana 2, Bruno 1 (then Carla), Carla 2 (then Bruno).
  const ballots = [[ana], [ana], [bruno, carla], [carla, bruno], [carla, bruno]];
  for (const ranking of ballots) {
    const res = await fetch(`${urna.base}/api/polls/e2e-ranked/votes`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ranking }),
    });
    assert.equal(res.status, 200);
  }

  const page = await urna.page('pt-BR');
  await open(page, urna.base, '/p/e2e-ranked');
  await page.getByLabel('1ª escolha').selectOption({ label: 'Bruno' });
  // An option ranked once is not offered again.
  assert.equal(await page.getByLabel('2ª escolha').locator('option', { hasText: 'Bruno' }).isDisabled(), true);
  await page.getByLabel('2ª escolha').selectOption({ label: 'Carla' });
  await page.getByRole('button', { name: 'Votar', exact: true }).click();
  await page.locator('[data-outcome=recorded]').waitFor();
  // The receipt names the ranking.
  const receipt = await page.getByTestId('receipt-text').inputValue();
  assert.deepEqual(JSON.parse(receipt).choices, [bruno, carla]);

  // Bruno 2 and Ana 2 and Carla 2: Carla (fewest in no earlier round, listed
  // last) goes; her two ballots go to Bruno, who wins 4 to 2.
  await open(page, urna.base, '/p/e2e-ranked/live');
  await page.getByTestId('runoff-winner').filter({ hasText: 'Vencedora: Bruno' }).waitFor();
  assert.equal(await page.getByTestId('runoff-round').count(), 2);
  assert.match(await page.getByTestId('runoff-round').nth(0).innerText(), /Eliminada: Carla/);
  await page.getByText('Primeiras preferências').waitFor();

  // The verify page finds the receipt this device kept and reads the ranking back.
  await open(page, urna.base, '/p/e2e-ranked/verify');
  await page.waitForFunction(() => document.querySelector('#receipt')?.value.includes('"choices"'));
  await page.getByRole('button', { name: 'Conferir' }).click();
  const verdict = page.locator('[data-testid=verify-result][data-verdict=ok]');
  await verdict.waitFor();
  assert.match(await verdict.innerText(), /A entrada conta um voto para Bruno > Carla/);
});

test('an admin creates a ranked poll in the editor', async () => {
  const page = await urna.page();
  await open(page, urna.base, '/admin');
  await page.getByLabel('Username').fill(ADMIN.username);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('link', { name: 'New poll' }).click();
  await page.locator('input[name=slug]').fill('e2e-made-ranked');
  await page.locator('input[name=title]').fill('Best season');
  const labels = page.locator('input[name=option-label]');
  await labels.nth(0).fill('2020');
  await labels.nth(1).fill('2024');
  await page.locator('select[name=kind]').selectOption('ranked');
  await page.locator('input[name=max_choices]').fill('2');
  await page.getByRole('button', { name: 'Create poll' }).click();
  await page.waitForURL(/\/admin\/polls\/\d+$/);
  // A draft is not public yet: the admin API shows what was made.
  const id = page.url().split('/').pop();
  const made = await urna.admin.call('GET', `/api/admin/polls/${id}`);
  assert.deepEqual([made.kind, made.min_choices, made.max_choices], ['ranked', 1, 2]);
});
