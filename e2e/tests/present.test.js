// The presenter screen: live bars that follow the votes, and for hidden
// results a reveal an admin triggers, counted up on every screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, open } from './harness.js';

let urna;
before(async () => { urna = await start(); });
after(async () => { await urna?.stop(); });

async function vote(slug, optionId, n) {
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${urna.base}/api/polls/${slug}/votes`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ option_id: optionId }),
    });
    assert.equal(res.status, 200);
  }
}

test('the presenter screen shows the QR code and short link, and its bars follow the votes', async () => {
  const poll = await urna.admin.openPoll('e2e-stage', ['Ana', 'Bruno']);
  const screen = await urna.page();
  await open(screen, urna.base, '/p/e2e-stage/present');
  assert.equal(await screen.locator('.topbar').count(), 0, 'full screen: no site bar');
  assert.ok(await screen.getByRole('img', { name: 'QR code of the voting page' }).isVisible());
  await screen.getByTestId('present-link').filter({ hasText: /127\.0\.0\.1:\d+\/p\/e2e-stage$/ }).waitFor();
  await vote('e2e-stage', poll.options[1].id, 3);
  await screen.getByTestId('present-total').filter({ hasText: /^3$/ }).waitFor();
  const row = screen.locator(`[data-option="${poll.options[1].id}"]`);
  await row.getByText('100.0%').waitFor();
});

test('an admin reveals hidden results and the presenter screens count up to them together', async () => {
  const poll = await urna.admin.openPoll('e2e-finale', ['Ana', 'Bruno', 'Carla'], { results_visibility: 'admin_only' });
  await vote('e2e-finale', poll.options[0].id, 2);
  await vote('e2e-finale', poll.options[2].id, 5);
  await urna.admin.call('POST', `/api/admin/polls/${poll.id}/close`);

  const screens = [await urna.page(), await urna.page('pt-BR')];
  await open(screens[0], urna.base, '/p/e2e-finale/present');
  await open(screens[1], urna.base, '/p/e2e-finale/present?lang=pt-BR');
  await screens[0].getByTestId('present-waiting').filter({ hasText: 'will be revealed here' }).waitFor();
  await screens[1].getByTestId('present-waiting').filter({ hasText: 'serão revelados' }).waitFor();
  assert.equal(await screens[0].getByTestId('present-votes').count(), 0, 'no numbers before the reveal');
  // Each screen notes every total it shows, and when it first shows one.
  for (const s of screens) {
    await s.evaluate(() => {
      window.seen = [];
      const total = document.querySelector('[data-testid=present-total]');
      new MutationObserver(() => {
        const n = Number(total.textContent);
        if (n > 0 && window.seen.length === 0) window.firstAt = performance.timeOrigin + performance.now();
        window.seen.push(n);
      }).observe(total, { childList: true, characterData: true, subtree: true });
    });
  }

  const admin = await urna.page();
  await open(admin, urna.base, `/admin/polls/${poll.id}`);
  await admin.getByLabel('Username').fill('admin');
  await admin.getByLabel('Password').fill('e2e-password-long-enough');
  await admin.getByRole('button', { name: 'Log in' }).click();
  await admin.getByRole('button', { name: 'Reveal on screens' }).click();
  await admin.getByRole('alertdialog').getByRole('button', { name: 'Yes' }).click();
  await admin.getByTestId('revealed-at').waitFor();

  // Both screens land on the final numbers; each started from zero.
  const shown = await Promise.all(screens.map(async (s) => {
    await s.getByTestId('present-total').filter({ hasText: /^7$/ }).waitFor({ timeout: 15_000 });
    return s.locator(`[data-option="${poll.options[2].id}"]`).getByTestId('present-votes').textContent();
  }));
  assert.deepEqual(shown, ['5 votes', '5 votos']);
  const seen = await Promise.all(screens.map((s) => s.evaluate(() => ({ seen: window.seen, firstAt: window.firstAt }))));
  for (const { seen: totals } of seen) {
    assert.ok(totals.some((n) => n > 0 && n < 7), `counted up, not jumped: ${totals}`);
  }
  const apart = Math.abs(seen[0].firstAt - seen[1].firstAt);
  assert.ok(apart < 1500, `the screens started together (${apart.toFixed(0)} ms apart)`);
});
