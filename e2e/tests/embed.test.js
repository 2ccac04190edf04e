// A host's page on another origin frames a poll's embed page; a person
// votes inside the frame. A site the poll does not name cannot frame it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { start } from './harness.js';

let urna;
let host;
before(async () => {
  urna = await start();
  // The host's site: another origin (localhost, not 127.0.0.1) serving a
  // page with an iframe of whatever `?src=` says.
  host = createServer((req, res) => {
    const src = new URL(req.url, 'http://localhost').searchParams.get('src') ?? '';
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>News site</title><h1>Tonight's vote</h1>
      <iframe id="vote" src="${src.replace(/"/g, '')}" width="480" height="520" title="Vote"></iframe>`);
  });
  await new Promise((r) => host.listen(0, '127.0.0.1', r));
});
after(async () => {
  host?.close();
  await urna?.stop();
});

const hostUrl = (src) => `http://localhost:${host.address().port}/?src=${encodeURIComponent(src)}`;

test('a poll embedded in a page of a site it names takes a vote inside the frame', async () => {
  const origin = `http://localhost:${host.address().port}`;
  await urna.admin.openPoll('e2e-embed', ['Alpha', 'Beta'], { embed_origins: [origin] });
  const page = await urna.page();
  await page.goto(hostUrl(`${urna.base}/p/e2e-embed/embed`));
  const frame = page.frameLocator('#vote');
  await frame.locator('body[data-hydrated]').waitFor({ timeout: 15_000 });
  assert.equal(await frame.locator('.topbar').count(), 0, 'no site bar inside the frame');
  await frame.getByRole('button', { name: 'Vote for Alpha' }).click();
  await frame.locator('[data-testid=vote-feedback][data-outcome=recorded]').waitFor();
  const results = await (await fetch(`${urna.base}/api/polls/e2e-embed/results`)).json();
  assert.equal(results.total_votes, 1);

  // The admin's copy-paste snippet points at the same embed page.
  const admin = await urna.page();
  await admin.goto(`${urna.base}/admin`);
  await admin.getByLabel('Username').fill('admin');
  await admin.getByLabel('Password').fill('e2e-password-long-enough');
  await admin.getByRole('button', { name: 'Log in' }).click();
  await admin.getByRole('link', { name: 'Poll e2e-embed' }).first().click();
  const snippet = await admin.getByTestId('embed-code').locator('code').textContent();
  assert.ok(snippet.includes(`src="${urna.base}/p/e2e-embed/embed"`), snippet);
});

test('a site the poll does not name gets no frame', async () => {
  await urna.admin.openPoll('e2e-no-embed', ['Alpha', 'Beta']);
  // Not urna.page(): the refusal this test expects is a CSP message, which
  // the harness counts as a failure on its pages.
  const page = await (await urna.browser.newContext()).newPage();
  const blocked = page.waitForEvent('console', (m) => /frame-ancestors|refused to frame|X-Frame-Options/i.test(m.text()));
  await page.goto(hostUrl(`${urna.base}/p/e2e-no-embed/embed`));
  await blocked;
  const frame = page.frames().find((f) => f !== page.mainFrame());
  assert.equal(await frame.locator('button').count(), 0, 'nothing of the poll inside the frame');
});
