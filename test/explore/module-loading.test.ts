/**
 * How threads load this package's modules: `workerStart` starts workers
 * (plain or a Piscina pool) on a TypeScript entry from the sources, and
 * `ownImportsOf` finds the modules a user's scenario imports from the package.
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { describe, expect, test } from 'vitest';
import {
  ownImportsOf,
  ownModuleUrl,
  packageRoot,
  runningCompiled,
  workerStart,
} from '../../src/explore/index.ts';

const root = fileURLToPath(packageRoot);
const here = import.meta.url;

describe('workerStart', () => {
  test('from the sources, a worker starts on the bootstrap that registers tsx', () => {
    expect(runningCompiled).toBe(false);
    const s = workerStart('./fixtures/double-worker.ts', here, { factor: 3 });
    expect(s.filename).toBe(`${root}scripts/source-worker.mjs`);
    expect(s.workerData.factor).toBe(3);
    expect(s.workerData.dmabufLabBoot).toMatchObject({
      entry: new URL('./fixtures/double-worker.ts', here).href,
      name: 'default',
    });
  });

  test('compiled code names the .js twin of an entry', () => {
    expect(ownModuleUrl('./worker.ts', 'file:///p/dist/src/cli/supervisor.js').href).toBe(
      'file:///p/dist/src/cli/worker.js',
    );
    expect(ownModuleUrl('./worker.ts', 'file:///p/src/cli/supervisor.ts').href).toBe(
      'file:///p/src/cli/worker.ts',
    );
  });

  test('a plain worker runs a TypeScript entry that imports the model', async () => {
    const s = workerStart('./fixtures/double-worker.ts', here, { plain: true });
    const w = new Worker(s.filename, { workerData: s.workerData });
    const reply = await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    await w.terminate();
    expect(reply).toEqual({ doubled: 42, EDEADLK: 35 });
  });

  test('a Piscina pool runs the default export of a TypeScript entry', async () => {
    const s = workerStart('./fixtures/double-worker.ts', here, { factor: 5 });
    const pool = new Piscina({ ...s, maxThreads: 1 });
    try {
      expect(await pool.run(4)).toBe(20);
    } finally {
      await pool.destroy();
    }
  });
});

describe('ownImportsOf', () => {
  test("finds the package's entry points and paths into the sources, nothing else", () => {
    const text = [
      "import { defineScenario, Mutex } from 'dmabuf-lab';",
      "import type { DmaFence } from 'dmabuf-lab/fence';",
      "import { msleep } from '../src/kernel/index.ts';",
      "import { helper } from './_helper.ts';",
      "import pc from 'picocolors';",
      "const late = await import('dmabuf-lab/hw');",
    ].join('\n');
    const urls = ownImportsOf(text, `${root}scenarios/x.ts`, () => true);
    expect(urls).toEqual([
      `file://${root}dist/src/index.js`,
      `file://${root}dist/src/fence/index.js`,
      `file://${root}dist/src/kernel/index.js`,
      `file://${root}dist/src/hw/index.js`,
    ]);
    expect(ownImportsOf(text, `${root}scenarios/x.ts`, () => false)).toEqual([]);
  });
});
