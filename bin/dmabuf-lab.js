#!/usr/bin/env node
// Entry point of the `dmabuf-lab` command.
// - Installed package: runs the compiled CLI in dist/.
// - Checkout (src/ beside this folder): runs dist/ when `npm run build` made
//   it from the current sources (scripts/dist-stamp.mjs), otherwise the
//   TypeScript sources through tsx.
//   DMABUF_LAB_SOURCES=1 forces the sources (the CLI tests use it).
import { existsSync } from 'node:fs';

const root = new URL('../', import.meta.url);
let fromSources = false;
if (existsSync(new URL('src/cli/main.ts', root))) {
  if (process.env.DMABUF_LAB_SOURCES === '1') fromSources = true;
  else {
    const { distIsCurrent } = await import('../scripts/dist-stamp.mjs');
    fromSources = !distIsCurrent(root);
  }
}
if (fromSources) {
  const { register } = await import('tsx/esm/api');
  register();
  // The run worker starts before main loads commander (src/cli/prestart.ts).
  await (await import('../src/cli/prestart.ts')).prestart(process.argv.slice(2));
  await import('../src/cli/main.ts');
} else {
  await (await import('../dist/src/cli/prestart.js')).prestart(process.argv.slice(2));
  await import('../dist/src/cli/main.js');
}
