// Gives the site's assets content-hashed names and precompressed copies:
// each of urna.js, urna.wasm, urna.css, pow-worker.js and boot.js becomes
// NAME.HASH.EXT, with NAME.HASH.EXT.br (brotli, quality 11) and .gz (gzip
// -9) beside it, and pkg/manifest.json maps each plain name to its hashed
// one. boot.js names the hashed bundle, so it is hashed last. The server
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

for (const name of ['urna.js', 'urna.wasm', 'urna.css', 'pow-worker.js']) {
  pack(name, readFileSync(join(pkg, name)));
}
const boot = readFileSync(join(pkg, 'boot.js'), 'utf8')
  .replace("'./urna.js'", `'./${manifest['urna.js']}'`)
  .replace("'./urna.wasm'", `'./${manifest['urna.wasm']}'`);
if (!boot.includes(manifest['urna.js']) || !boot.includes(manifest['urna.wasm'])) {
  throw new Error('boot.js no longer names ./urna.js and ./urna.wasm as this script expects');
}
pack('boot.js', Buffer.from(boot));
writeFileSync(join(pkg, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);

const kib = (n) => (n / 1024).toFixed(1);
for (const s of sizes) console.log(`  ${s.name.padEnd(14)} ${kib(s.bytes).padStart(7)} KiB, brotli ${kib(s.br).padStart(6)} KiB, gzip ${kib(s.gz).padStart(6)} KiB`);
const first = sizes.filter((s) => s.name !== 'pow-worker.js').reduce((a, s) => a + s.br, 0);
console.log(`  a first visit's JavaScript + wasm + CSS, brotli: ${kib(first)} KiB`);
