// What a person does in a browser, checked in a real one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { start, open, ADMIN } from './harness.js';

let urna;
before(async () => { urna = await start(); });
after(async () => { await urna?.stop(); });

const text = (page, sel) => page.locator(sel).first().innerText();

test('a voter votes and sees "recorded"; the live dashboard in a second page counts it without reload', async () => {
  await urna.admin.openPoll('e2e-live');
  const live = await urna.page();
  await open(live, urna.base, '/p/e2e-live/live');
  assert.equal(await text(live, '[data-testid=total-votes]'), '0');
  await live.waitForSelector('[data-testid=stream-state].on');
  await live.evaluate(() => { window.__sameDocument = true; });

  const voter = await urna.page();
  await open(voter, urna.base, '/p/e2e-live');
  await voter.getByRole('button', { name: 'Vote for Alpha' }).click();
  const feedback = voter.locator('[data-testid=vote-feedback][data-outcome=recorded]');
  await feedback.waitFor();
  assert.match(await feedback.innerText(), /Vote recorded/);

  await live.waitForFunction(() => document.querySelector('[data-testid=total-votes]')?.textContent === '1', null, { timeout: 5_000 });
  const alpha = live.locator('.bar-row', { hasText: 'Alpha' });
  assert.equal(await alpha.locator('[data-testid=option-votes]').innerText(), '1');
  assert.equal(await alpha.locator('.bar-percent').innerText(), '100.0%');
  assert.equal(await live.evaluate(() => window.__sameDocument), true, 'the dashboard reloaded');
  assert.match(await text(live, '[data-testid=as-of]'), /^Counted up to \d\d:\d\d:\d\d$/);
});

test('an overloaded server gets the vote retried on its own after Retry-After', async () => {
  await urna.admin.openPoll('e2e-busy');
  const voter = await urna.page();
  await open(voter, urna.base, '/p/e2e-busy');
  let refused = 0;
  await voter.route('**/api/polls/e2e-busy/votes', (route) => {
    if (refused++ === 0) {
      return route.fulfill({
        status: 503,
        headers: { 'retry-after': '1', 'content-type': 'application/problem+json' },
        body: JSON.stringify({ status: 503, code: 'unavailable', detail: 'too many votes in flight; retry shortly' }),
      });
    }
    return route.continue();
  });
  await voter.getByRole('button', { name: 'Vote for Alpha' }).click();
  const retrying = voter.locator('[data-testid=vote-feedback][data-outcome=retrying]');
  await retrying.waitFor();
  assert.match(await retrying.innerText(), /Trying again in [12] s/);
  await voter.locator('[data-testid=vote-feedback][data-outcome=recorded]').waitFor({ timeout: 5_000 });
  assert.equal(refused, 2, 'one refusal, then one retry');
  const results = await (await fetch(`${urna.base}/api/polls/e2e-busy/results`)).json();
  assert.equal(results.total_votes, 1);
});

test("a voter's first visit downloads the voting page's own bundle, under 300 KB, and a link from it opens the full one", async () => {
  await urna.admin.openPoll('e2e-first');
  const voter = await urna.page();
  const scripts = [];
  voter.on('response', (res) => { if (/\/pkg\/[^?]+\.(js|wasm)$/.test(res.url())) scripts.push(res); });
  await open(voter, urna.base, '/p/e2e-first');
  const sizes = await Promise.all(scripts.map(async (res) => ({
    name: new URL(res.url()).pathname.split('/').pop(), bytes: (await res.request().sizes()).responseBodySize,
  })));
  const names = sizes.map((s) => s.name).join(' ');
  assert.match(names, /vote\.[0-9a-f]{16}\.wasm/);
  assert.doesNotMatch(names, /urna\.[0-9a-f]{16}\.wasm/);
  const total = sizes.reduce((sum, s) => sum + s.bytes, 0);
  assert.ok(total <= 300_000, `a first visit's JavaScript and wasm: ${total} bytes (${names})`);

  await voter.getByRole('button', { name: 'Vote for Alpha' }).click();
  await voter.locator('[data-testid=vote-feedback][data-outcome=recorded]').waitFor();
  // The voting page's bundle has no live page: the link loads it from the
  // server, with the bundle that has every page.
  await voter.getByRole('link', { name: 'See live results' }).click();
  await voter.waitForURL(/\/p\/e2e-first\/live$/);
  await voter.waitForFunction(() => document.body.hasAttribute('data-hydrated')
    && document.querySelector('[data-testid=total-votes]')?.textContent === '1');
  assert.ok(scripts.some((res) => /urna\.[0-9a-f]{16}\.wasm$/.test(res.url())), 'the live page started the full bundle');
});

test('a vote on a poll that closed meanwhile shows the closed message', async () => {
  const poll = await urna.admin.openPoll('e2e-closed');
  const voter = await urna.page();
  await open(voter, urna.base, '/p/e2e-closed');
  await urna.admin.call('POST', `/api/admin/polls/${poll.id}/close`);
  await voter.getByRole('button', { name: 'Vote for Beta' }).click();
  const feedback = voter.locator('[data-testid=vote-feedback][data-outcome=closed]');
  await feedback.waitFor();
  assert.match(await feedback.innerText(), /Voting is closed/);
  // Reloaded, the page says so before anyone votes.
  await open(voter, urna.base, '/p/e2e-closed');
  assert.equal(await text(voter, '[data-testid=poll-status]'), 'Voting is closed');
});

test('without JavaScript the vote is a form post that comes back "recorded"', async () => {
  await urna.admin.openPoll('e2e-nojs');
  const context = await urna.browser.newContext({ javaScriptEnabled: false, locale: 'en-US' });
  const page = await context.newPage();
  await page.goto(`${urna.base}/p/e2e-nojs`);
  await page.getByRole('button', { name: 'Vote for Beta' }).click();
  await page.waitForURL(/outcome=recorded/);
  assert.match(await text(page, '[data-testid=vote-feedback]'), /Vote recorded/);
  // The language switch is a link to the page in the other language, and
  // the form's answer comes back in it.
  await page.getByTestId('lang-switch').click();
  await page.waitForURL(/\/p\/e2e-nojs\?lang=pt-BR$/);
  await page.getByRole('button', { name: 'Votar em Alpha' }).click();
  await page.waitForURL(/outcome=recorded.*lang=pt-BR/);
  assert.match(await text(page, '[data-testid=vote-feedback]'), /Voto registrado/);
  const results = await (await fetch(`${urna.base}/api/polls/e2e-nojs/results`)).json();
  assert.equal(results.total_votes, 2);
  await context.close();
});

test('an admin logs in, creates a dual-track poll, opens it, sees votes arrive, closes it and downloads the CSV', async () => {
  const page = await urna.page();
  await open(page, urna.base, '/admin');
  await page.getByLabel('Username').fill(ADMIN.username);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText(`Signed in as ${ADMIN.username}`).waitFor();

  await page.getByRole('link', { name: 'New poll' }).click();
  await page.locator('input[name=slug]').fill('paredao');
  await page.locator('input[name=title]').fill('Paredão');
  const labels = page.locator('input[name=option-label]');
  await labels.nth(0).fill('Ana');
  await labels.nth(1).fill('Bruno');
  await page.getByRole('button', { name: 'Add track' }).click();
  const names = page.locator('input[name=track-name]');
  await names.nth(0).fill('voto-unico');
  await page.locator('select[name=track-dedupe]').nth(0).selectOption('one_per_voter');
  await page.locator('input[name=track-weight]').nth(0).fill('70');
  await names.nth(1).fill('voto-da-torcida');
  await page.locator('input[name=track-weight]').nth(1).fill('30');
  await page.getByRole('button', { name: 'Create poll' }).click();
  await page.waitForURL(/\/admin\/polls\/\d+$/);
  assert.equal(await text(page, '[data-testid=poll-status]'), 'Draft');

  await page.getByRole('button', { name: 'Open voting' }).click();
  await page.getByRole('button', { name: 'Yes' }).click();
  await page.locator('[data-testid=poll-status]', { hasText: 'Voting is open' }).first().waitFor();

  // A voter votes once on the one-per-voter track, twice on the other.
  const voter = await urna.page();
  await open(voter, urna.base, '/p/paredao');
  const unico = voter.locator('section.track', { hasText: 'Voto unico' });
  const torcida = voter.locator('section.track', { hasText: 'Voto da torcida' });
  await unico.getByRole('button', { name: 'Vote for Ana' }).click();
  await unico.locator('[data-outcome=recorded]').waitFor();
  assert.equal(await unico.getByRole('button', { name: 'Vote for Ana' }).isDisabled(), true);
  assert.match(await unico.locator('.voted').innerText(), /You have voted/);
  for (let i = 0; i < 2; i++) {
    await torcida.getByRole('button', { name: 'Vote for Bruno' }).click();
    await torcida.locator('[data-outcome=recorded]').waitFor();
    await torcida.getByRole('button', { name: 'Vote for Bruno' }).and(voter.locator(':enabled')).waitFor();
  }

  await page.waitForFunction(() => document.querySelector('[data-testid=total-votes]')?.textContent === '3', null, { timeout: 5_000 });
  assert.match(await page.locator('figure.bars', { hasText: 'Weighted result' }).innerText(), /Ana[\s\S]*70\.0%[\s\S]*Bruno[\s\S]*30\.0%/);

  await page.getByRole('button', { name: 'Close voting' }).click();
  await page.getByRole('button', { name: 'Yes' }).click();
  await page.locator('[data-testid=poll-status]', { hasText: 'Voting is closed' }).first().waitFor();

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download CSV' }).click()]);
  assert.equal(download.suggestedFilename(), 'paredao-results.csv');
  const csv = readFileSync(await download.path(), 'utf8');
  assert.match(csv, /^poll,status,as_of,track,weight,option_id,option,votes,percent\r\n/);
  assert.match(csv, /paredao,closed,[^,]+,voto-unico,70,\d+,Ana,1,100\.00/);
  assert.match(csv, /paredao,closed,[^,]+,voto-da-torcida,30,\d+,Bruno,2,100\.00/);
  assert.match(csv, /weighted,,\d+,Ana,,70\.00/);

  // Logging out ends the session on the server, not only in the page.
  const [session] = (await page.context().cookies()).filter((c) => c.name === 'urna_session');
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('button', { name: 'Log in' }).waitFor();
  const me = await fetch(`${urna.base}/api/admin/me`, { headers: { cookie: `urna_session=${session.value}` } });
  assert.equal(me.status, 401);
});

test('a poll speaks its own language, the switch changes it in place, and the choice sticks', async () => {
  await urna.admin.openPoll('e2e-lang');
  // An English poll, read by a browser that prefers Portuguese: the poll's
  // language (the same page for everyone, which a shared cache may keep).
  const page = await urna.page('pt-BR');
  await open(page, urna.base, '/p/e2e-lang');
  assert.equal(await text(page, '.hint'), 'Vote as often as you like');
  await page.getByTestId('lang-switch').click();
  await page.locator('.hint', { hasText: 'Vote quantas vezes quiser' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Votar em Alpha' }).count(), 1);
  assert.match(page.url(), /\/p\/e2e-lang\?lang=pt-BR$/, 'the address names the choice');
  // A reload keeps it: the server renders the language the address names.
  await page.reload();
  await page.waitForSelector('body[data-hydrated]', { timeout: 15_000 });
  assert.equal(await text(page, '.hint'), 'Vote quantas vezes quiser');
  // A poll page whose address names none: the browser applies the remembered choice.
  await open(page, urna.base, '/p/e2e-lang/live');
  await page.locator('.kpis dt', { hasText: 'Total de votos' }).waitFor();
  assert.equal(await page.getAttribute('html', 'lang'), 'pt-BR');

  const en = await urna.page('pt-BR');
  await open(en, urna.base, '/p/e2e-lang/live');
  assert.equal(await text(en, '.kpis dt'), 'Total votes');
});

test('the live dashboard reconnects on its own when the server comes back', async () => {
  const poll = await urna.admin.openPoll('e2e-reconnect');
  const live = await urna.page();
  await open(live, urna.base, '/p/e2e-reconnect/live');
  await live.waitForSelector('[data-testid=stream-state].on');
  await live.evaluate(() => { window.__sameDocument = true; });
  await urna.restart();
  const res = await fetch(`${urna.base}/api/polls/e2e-reconnect/votes`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ option_id: poll.options[1].id }),
  });
  assert.equal(res.status, 200);
  await live.waitForFunction(() => document.querySelector('[data-testid=total-votes]')?.textContent === '1', null, { timeout: 10_000 });
  assert.equal(await live.evaluate(() => window.__sameDocument), true, 'the dashboard reloaded');
  await live.waitForSelector('[data-testid=stream-state].on');
});
