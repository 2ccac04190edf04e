// Gives the site's assets content-hashed names and precompressed copies:
// each of urna.js, urna.wasm, vote.js, vote.wasm, urna.css, pow-worker.js
// and boot.js becomes
// NAME.HASH.EXT, with NAME.HASH.EXT.br (brotli, quality 11) and .gz (gzip
// -9) beside it, and pkg/manifest.json maps each plain name to its hashed
// one. boot.js names the hashed bundles, so it is hashed last. The server
// serves these forever-cacheable (app/src/web/assets.rs). Node's own zlib:
// nothing to download.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';

const pkg = process.argv[2];
if (!pkg) throw new Error('usage: node scripts/pack-assets.mjs SITE/pkg');

const manifest = {};
const sizes = [];
function pack(name, content) {
  const hash = createHash('sha256').update(content).digest('hex').slice(0, 16);
  const dot = name.lastIndexOf('.');
  const hashed = `${name.slice(0, dot)}.${hash}${name.slice(dot)}`;
  const br = brotliCompressSync(content, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: content.length },
  });
  const gz = gzipSync(content, { level: 9 });
  writeFileSync(join(pkg, hashed), content);
  writeFileSync(join(pkg, `${hashed}.br`), br);
  writeFileSync(join(pkg, `${hashed}.gz`), gz);
  rmSync(join(pkg, name), { force: true });
  manifest[name] = hashed;
  sizes.push({ name, bytes: content.length, br: br.length, gz: gz.length });
}

const bundles = ['urna.js', 'urna.wasm', 'vote.js', 'vote.wasm'];
for (const name of [...bundles, 'urna.css', 'pow-worker.js']) {
  pack(name, readFileSync(join(pkg, name)));
}
let boot = readFileSync(join(pkg, 'boot.js'), 'utf8');
for (const name of bundles) {
  if (!boot.includes(`'./${name}'`)) throw new Error(`boot.js no longer names './${name}' as this script expects`);
  boot = boot.replace(`'./${name}'`, `'./${manifest[name]}'`);
}
pack('boot.js', Buffer.from(boot));
writeFileSync(join(pkg, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);

const kib = (n) => (n / 1024).toFixed(1);
for (const s of sizes) console.log(`  ${s.name.padEnd(14)} ${kib(s.bytes).padStart(7)} KiB, brotli ${kib(s.br).padStart(6)} KiB, gzip ${kib(s.gz).padStart(6)} KiB`);
const total = (names) => sizes.filter((s) => names.includes(s.name)).reduce((a, s) => a + s.br, 0);
console.log(`  a voter's first visit (vote.js + vote.wasm + boot.js + urna.css), brotli: ${kib(total(['vote.js', 'vote.wasm', 'boot.js', 'urna.css']))} KiB`);
console.log(`  any other page's first visit (urna.js + urna.wasm + boot.js + urna.css), brotli: ${kib(total(['urna.js', 'urna.wasm', 'boot.js', 'urna.css']))} KiB`);
