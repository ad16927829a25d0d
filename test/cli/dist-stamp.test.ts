/**
 * A checkout runs dist/ only while it was built from the current sources:
 * any edit, addition or removal of a build input makes it stale.
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeEach, expect, test } from 'vitest';
import { distIsCurrent, sourceListing, STAMP } from '../../scripts/dist-stamp.mjs';

let dir = '';
let root: URL;

function stamp(): void {
  writeFileSync(join(dir, STAMP), JSON.stringify(sourceListing(root)));
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmabuf-lab-stamp-'));
  root = pathToFileURL(`${dir}/`);
  for (const d of ['src/kernel', 'scenarios', 'dist']) mkdirSync(join(dir, d), { recursive: true });
  for (const f of [
    'src/index.ts',
    'src/kernel/mutex.ts',
    'scenarios/a.ts',
    'tsconfig.json',
    'tsconfig.build.json',
  ])
    writeFileSync(join(dir, f), `// ${f}\n`);
  stamp();
});

test('a build of the current sources is current', () => {
  expect(distIsCurrent(root)).toBe(true);
});

test('no build, or a build without a stamp, is not current', () => {
  rmSync(join(dir, STAMP));
  expect(distIsCurrent(root)).toBe(false);
});

test('an edited source makes dist/ stale, even with the same size', () => {
  const f = join(dir, 'src/kernel/mutex.ts');
  writeFileSync(f, '// src/kernel/mutex.tZ\n');
  utimesSync(f, new Date(), new Date(Date.now() + 5000));
  expect(distIsCurrent(root)).toBe(false);
});

test('an added or removed source, or a changed tsconfig, makes dist/ stale', () => {
  writeFileSync(join(dir, 'scenarios/new.ts'), '// new\n');
  expect(distIsCurrent(root)).toBe(false);
  rmSync(join(dir, 'scenarios/new.ts'));
  expect(distIsCurrent(root)).toBe(true);
  rmSync(join(dir, 'scenarios/a.ts'));
  expect(distIsCurrent(root)).toBe(false);
  stamp();
  writeFileSync(join(dir, 'tsconfig.build.json'), '{ "changed": true }\n');
  expect(distIsCurrent(root)).toBe(false);
});
