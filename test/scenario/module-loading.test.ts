/**
 * How threads load this package's modules: `workerStart`, the one way to
 * start a worker on our modules (the CLI's run worker, the explorer's
 * Piscina pool), from the sources (a TypeScript entry, through the bootstrap
 * that registers tsx) and compiled (module-loading.ts compiled by tsc into a
 * temporary copy, run in a child process: the entry's `.js` twin, preload
 * modules as `--import`); and `ownImportsOf`, the modules a user's scenario
 * imports from the package.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';
import {
  ownImportsOf,
  ownModuleUrl,
  packageRoot,
  runningCompiled,
  workerStart,
} from '../../src/scenario/index.ts';

const root = fileURLToPath(packageRoot);
const here = import.meta.url;
/** A module that marks the thread it is imported in (a stand-in for the scenario hooks' preload). */
const PRELOAD = `data:text/javascript,${encodeURIComponent('globalThis.dmabufLabTestPreload = "preloaded";')}`;

describe('workerStart from the sources', () => {
  test('a worker starts on the bootstrap that registers tsx', () => {
    expect(runningCompiled).toBe(false);
    const s = workerStart('./fixtures/double-worker.ts', here, { data: { factor: 3 }, preload: [PRELOAD] });
    expect(s.filename).toBe(`${root}scripts/source-worker.mjs`);
    expect(s.workerData.factor).toBe(3);
    expect(s.workerData.dmabufLabBoot).toMatchObject({
      entry: new URL('./fixtures/double-worker.ts', here).href,
      name: 'default',
      preload: [PRELOAD],
    });
    // The preload is imported by the bootstrap after tsx, not by Node before it.
    expect(s.execArgv).toBeUndefined();
  });

  test('compiled code names the .js twin of an entry', () => {
    expect(ownModuleUrl('./worker.ts', 'file:///p/dist/src/cli/supervisor.js').href).toBe(
      'file:///p/dist/src/cli/worker.js',
    );
    expect(ownModuleUrl('./worker.ts', 'file:///p/src/cli/supervisor.ts').href).toBe(
      'file:///p/src/cli/worker.ts',
    );
    expect(ownModuleUrl('./task.mts', 'file:///p/dist/src/explore/pool.js').href).toBe(
      'file:///p/dist/src/explore/task.mjs',
    );
  });

  test('a plain worker runs a TypeScript entry that imports the model, after its preload', async () => {
    const s = workerStart('./fixtures/double-worker.ts', here, { data: { plain: true }, preload: [PRELOAD] });
    const w = new Worker(s.filename, { workerData: s.workerData });
    const reply = await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    await w.terminate();
    expect(reply).toEqual({ doubled: 42, EDEADLK: 35, preloaded: 'preloaded' });
  });

  test('a Piscina pool runs the default export, or the named one', async () => {
    const s = workerStart('./fixtures/double-worker.ts', here, { data: { factor: 5 } });
    const pool = new Piscina({ ...s, maxThreads: 1 });
    const named = workerStart('./fixtures/double-worker.ts', here, { name: 'preloaded', preload: [PRELOAD] });
    const pool2 = new Piscina({ ...named, maxThreads: 1 });
    try {
      expect(await pool.run(4)).toBe(20);
      expect(await pool2.run(0)).toBe('preloaded');
    } finally {
      await pool.destroy();
      await pool2.destroy();
    }
  });
});

describe('workerStart compiled', () => {
  // module-loading.ts as tsc compiles it, at its place in a dist/ tree, with
  // a compiled worker entry beside it; the check runs in a child process
  // (plain Node, no TypeScript loader anywhere).
  const dist = mkdtempSync(join(tmpdir(), 'dmabuf-lab-compiled-'));
  const src = readFileSync(join(root, 'src/scenario/module-loading.ts'), 'utf8');
  const js = ts.transpileModule(src, {
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2023,
      rewriteRelativeImportExtensions: true,
      verbatimModuleSyntax: true,
    },
    fileName: 'module-loading.ts',
  }).outputText;
  mkdirSync(join(dist, 'dist/src/scenario'), { recursive: true });
  writeFileSync(join(dist, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(dist, 'dist/src/scenario/module-loading.js'), js);
  writeFileSync(
    join(dist, 'dist/src/scenario/entry.js'),
    [
      "import { parentPort, workerData } from 'node:worker_threads';",
      'export default function run(x) { return { x: x * workerData.factor, preloaded: globalThis.dmabufLabTestPreload ?? null }; }',
      'if (workerData?.plain) parentPort.postMessage(run(1));',
    ].join('\n'),
  );
  const check = `
    import { Worker } from 'node:worker_threads';
    import { Piscina } from ${JSON.stringify(import.meta.resolve('piscina'))};
    const m = await import(${JSON.stringify(`file://${dist}/dist/src/scenario/module-loading.js`)});
    const base = import.meta.resolve(${JSON.stringify(`file://${dist}/dist/src/scenario/caller.js`)});
    const preload = [${JSON.stringify(PRELOAD)}];
    const s = m.workerStart('./entry.ts', base, { data: { factor: 3 }, preload });
    const pool = new Piscina({ ...s, maxThreads: 1 });
    const pooled = await pool.run(2);
    await pool.destroy();
    const p = m.workerStart('./entry.ts', base, { data: { factor: 5, plain: true }, preload });
    const w = new Worker(p.filename, { workerData: p.workerData, execArgv: p.execArgv });
    const plain = await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
    await w.terminate();
    console.log(JSON.stringify({ compiled: m.runningCompiled, start: s, pooled, plain }));
  `;

  test('the worker starts on the entry\'s .js twin, preload modules as --import, in a pool and plain', async () => {
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--input-type=module', '-e', check], { cwd: dist }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}\n${stderr}`));
        else resolve(stdout);
      });
    });
    const r = JSON.parse(out) as {
      compiled: boolean;
      start: { filename: string; workerData: Record<string, unknown>; execArgv?: string[] };
      pooled: unknown;
      plain: unknown;
    };
    expect(r.compiled).toBe(true);
    expect(r.start.filename).toBe(join(dist, 'dist/src/scenario/entry.js'));
    expect(r.start.workerData).toEqual({ factor: 3 });
    expect(r.start.execArgv).toEqual(['--import', PRELOAD]);
    expect(r.pooled).toEqual({ x: 6, preloaded: 'preloaded' });
    expect(r.plain).toEqual({ x: 5, preloaded: 'preloaded' });
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
