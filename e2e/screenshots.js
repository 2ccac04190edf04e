// Screenshots of each page for the README, made in headless Chromium from
// the running app: `bash scripts/screenshots.sh` (builds, then runs this).
import { mkdirSync } from 'node:fs';
import { start, open, ADMIN } from './tests/harness.js';

const out = new URL('../docs/screenshots/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });
const urna = await start();
try {
  const poll = await urna.admin.openPoll('paredao', ['Ana', 'Bruno', 'Carla'], {
    title: 'Paredão: quem fica?',
    language: 'pt-BR',
    description: 'Vote em quem você quer que fique na casa.',
    tracks: [
      { name: 'voto-unico', dedupe: 'one_per_voter', weight: 70 },
      { name: 'voto-da-torcida', dedupe: 'unlimited', weight: 30 },
    ],
  });
  const [ana, bruno, carla] = poll.options.map((o) => o.id);
  const cast = (option, track, n) =>
    Promise.all(Array.from({ length: n }, () => fetch(`${urna.base}/api/polls/paredao/votes`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ option_id: option, track }),
    })));
  for (const [option, n] of [[ana, 420], [bruno, 610], [carla, 170]]) await cast(option, 'voto-da-torcida', n);

  const phone = await (await urna.browser.newContext({ locale: 'pt-BR', viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 })).newPage();
  await open(phone, urna.base, '/p/paredao');
  await phone.locator('section.track', { hasText: 'Voto da torcida' }).getByRole('button', { name: 'Votar em Bruno' }).click();
  await phone.locator('[data-outcome=recorded]').waitFor();
  await phone.screenshot({ path: `${out}/vote.png`, fullPage: true });

  const live = await (await urna.browser.newContext({ locale: 'pt-BR', viewport: { width: 1100, height: 900 } })).newPage();
  await open(live, urna.base, '/p/paredao/live');
  await live.waitForSelector('[data-testid=stream-state].on');
  for (let i = 0; i < 6; i++) { await cast(bruno, 'voto-da-torcida', 40 + 20 * i); await cast(ana, 'voto-da-torcida', 30 + 10 * i); await live.waitForTimeout(700); }
  await live.screenshot({ path: `${out}/live.png`, fullPage: true });

  const admin = await (await urna.browser.newContext({ locale: 'en-US', viewport: { width: 1100, height: 900 } })).newPage();
  await open(admin, urna.base, '/admin');
  await admin.getByLabel('Username').fill(ADMIN.username);
  await admin.getByLabel('Password').fill(ADMIN.password);
  await admin.getByRole('button', { name: 'Log in' }).click();
  await admin.locator('table.polls td', { hasText: 'Paredão' }).waitFor();
  await admin.waitForTimeout(2500);
  await admin.screenshot({ path: `${out}/admin.png`, fullPage: true });
  await admin.locator('table.polls a', { hasText: 'Paredão' }).click();
  await admin.locator('form.editor').waitFor();
  await admin.waitForTimeout(1500);
  await admin.screenshot({ path: `${out}/admin-poll.png`, fullPage: true });
  console.log(`screenshots in ${out}`);
} finally {
  await urna.stop();
}
