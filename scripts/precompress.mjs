// Writes a Brotli (`.br`, quality 11) and a gzip (`.gz`, level 9) copy next to every JS, wasm,
// CSS and SVG file of a folder, so the server sends the bundle compressed once at build time
// instead of compressing it again on every request. Usage: node precompress.mjs DIR
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node precompress.mjs DIR');
  process.exit(2);
}
for (const name of readdirSync(dir)) {
  if (!/\.(js|wasm|css|svg)$/.test(name)) continue;
  const file = path.join(dir, name);
  const bytes = readFileSync(file);
  const br = brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
  writeFileSync(`${file}.br`, br);
  writeFileSync(`${file}.gz`, gzipSync(bytes, { level: 9 }));
  console.log(`${name}: ${bytes.length} bytes, ${br.length} as .br`);
}
