// `npm run build`: compile src/ and scenarios/ into dist/ with tsc (types
// included; tests and benchmarks are not part of the build), starting from an
// empty dist/ so that a deleted source leaves no compiled twin, and record
// the listing of the sources it compiled (scripts/dist-stamp.mjs) so that
// bin/dmabuf-lab.js in a checkout knows whether dist/ is current. `npm pack`
// and `npm publish` run it (`prepack`); `npm ci` does not (a checkout runs the
// sources until it is built, and installing needs no build).
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { sourceListing, STAMP } from './dist-stamp.mjs';

const root = new URL('../', import.meta.url);

// Taken before compiling: a file edited during the build makes the stamp stale.
const listing = JSON.stringify(sourceListing(root));
rmSync(new URL('dist/', root), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
  cwd: fileURLToPath(root),
  stdio: 'inherit',
});
if (r.status !== 0) {
  const why = r.error ? r.error.message : `tsc exited with ${r.status ?? r.signal}`;
  process.stderr.write(`dmabuf-lab: the build failed (${why}).\n`);
  process.exit(1);
}
writeFileSync(new URL(STAMP, root), listing);
