// The live dashboard on a stage screen stays open for hours and reconnects
// whenever the stream fails. Each reconnect must let the last stream and its
// listeners go: after 100 of them the page holds one stream, one listener.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start } from './harness.js';

let urna;
before(async () => { urna = await start(); });
after(async () => { await urna?.stop(); });

/** Polls `check` (from here, not with the page's timers, which are faked) until it holds. */
async function until(what, check, ms = 15_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('the live dashboard holds one stream and one listener across 100 reconnects', async () => {
  const poll = await urna.admin.openPoll('e2e-reconnect', ['Alpha', 'Beta']);
  const page = await urna.page();
  // Count the streams the page makes, those the garbage collector took
  // back, and the listeners attached to them.
  await page.addInitScript(() => {
    const Native = window.EventSource;
    const stats = { created: 0, failed: 0, collected: 0, listeners: 0 };
    const gone = new FinalizationRegistry(() => { stats.collected += 1; });
    window.__streams = stats;
    window.EventSource = class extends Native {
      constructor(url, init) {
        super(url, init);
        stats.created += 1;
        gone.register(this, 0);
        // Not through the counting override below: this one is the test's.
        Native.prototype.addEventListener.call(this, 'error', () => { if (this.readyState === Native.CLOSED) stats.failed += 1; });
      }
      addEventListener(type, fn, opts) { stats.listeners += 1; return super.addEventListener(type, fn, opts); }
      removeEventListener(type, fn, opts) { stats.listeners -= 1; return super.removeEventListener(type, fn, opts); }
    };
  });
  // The page's timers run when the test says so: 100 two-second waits
  // take no real time.
  await page.clock.install();
  let failing = true;
  await page.route('**/results/stream', (route) => (failing ? route.fulfill({ status: 503, body: '' }) : route.fallback()));
  await page.goto(`${urna.base}/p/e2e-reconnect/live`);
  await until('the page hydrated', () => page.evaluate(() => document.body.hasAttribute('data-hydrated')));
  const stats = () => page.evaluate(() => ({ ...window.__streams }));

  // Stream n fails; the page waits two (fake) seconds and opens stream n+1.
  for (let n = 1; n <= 101; n++) {
    await until(`stream ${n} failing`, async () => (await stats()).failed >= n);
    if (n <= 100) await page.clock.runFor(2_000);
  }
  assert.ok(await page.locator('[data-testid=stream-state].off').isVisible(), 'the page says it is reconnecting');
  const cdp = await page.context().newCDPSession(page);
  const after = await until('the old streams collected', async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    const s = await stats();
    return s.created - s.collected <= 2 ? s : null;
  });
  assert.equal(after.created, 101);
  assert.equal(after.listeners, 1, 'one results listener, on the current stream');

  // And it still works: the stream comes back and shows a new vote.
  failing = false;
  await page.clock.runFor(2_000);
  const option = poll.options[1].id;
  const voted = await fetch(`${urna.base}/api/polls/e2e-reconnect/votes`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ option_id: option }),
  });
  assert.equal(voted.status, 200);
  await until('the vote on the dashboard', async () =>
    (await page.locator('[data-testid=stream-state].on').isVisible())
    && (await page.locator('[data-testid=total-votes]').textContent()) === '1');
});
