// Solving time of urna's proof of work in headless Chromium on this
// machine: the voting page's own Web Worker (/pkg/pow-worker.js), at each
// difficulty, median of RUNS challenges. Prints one line per difficulty.
// Usage: node bench/pow_browser.mjs BASE SLUG
import { chromium } from 'playwright-core';
const [base, slug] = process.argv.slice(2);
const RUNS = 5;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const page = await browser.newPage();
  await page.goto(`${base}/p/${slug}`);
  for (const difficulty of [10_000, 100_000, 1_000_000, 10_000_000]) {
    const times = await page.evaluate(async ({ difficulty, runs }) => {
      const enc = new TextEncoder();
      const out = [];
      for (let r = 0; r < runs; r++) {
        // A challenge like the server's, whose answer is uniform in 0..=max.
        const salt = `${crypto.randomUUID().replaceAll('-', '').slice(0, 24)}?poll=1&expires=9999999999`;
        const number = Math.floor(Math.random() * (difficulty + 1));
        const digest = await crypto.subtle.digest('SHA-256', enc.encode(salt + number));
        const challenge = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
        const worker = new Worker('/pkg/pow-worker.js');
        const t0 = performance.now();
        const found = await new Promise((resolve) => {
          worker.onmessage = (e) => resolve(e.data.number);
          worker.postMessage({ salt, challenge, maxnumber: difficulty });
        });
        out.push({ ms: performance.now() - t0, tries: found + 1 });
        worker.terminate();
      }
      return out;
    }, { difficulty, runs: RUNS });
    const ms = times.map((t) => t.ms).sort((a, b) => a - b);
    const rate = times.reduce((s, t) => s + t.tries, 0) / (times.reduce((s, t) => s + t.ms, 0) / 1000);
    console.log(`URNA difficulty=${difficulty} median_ms=${ms[Math.floor(ms.length / 2)].toFixed(0)} max_ms=${ms[ms.length - 1].toFixed(0)} hashes_per_sec=${rate.toFixed(0)}`);
  }
} finally {
  await browser.close();
}
