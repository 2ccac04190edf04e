// Fetches COUNT challenges of a poll and solves them (as a voter's device
// would, with the same solver the voting page runs), printing one
// X-Urna-Pow value per line. For the benchmark only; targets 127.0.0.1.
// Usage: node bench/pow_solve.mjs BASE SLUG COUNT > file
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { solve } = require('../frontend/assets/pow-worker.js');
const [base, slug, countArg] = process.argv.slice(2);
const count = Number(countArg);
let done = 0;
const out = [];
async function worker() {
  while (done < count) {
    done++;
    const c = await (await fetch(`${base}/api/polls/${slug}/challenge`)).json();
    const number = solve(c);
    const payload = { algorithm: c.algorithm, challenge: c.challenge, number, salt: c.salt, signature: c.signature };
    out.push(Buffer.from(JSON.stringify(payload)).toString('base64'));
  }
}
await Promise.all(Array.from({ length: 16 }, worker));
process.stdout.write(out.join('\n') + '\n');
