/**
 * Start-up of the `dmabuf-lab` command, whole processes timed from outside,
 * against `node -e 0` in the same run (the targets are ratios: `--help` <= 2x,
 * `run mutex-abba` <= 4x, `run ./user-scenario.ts` <= 6x). Each command runs
 * paired with the baseline (A B A B ...), and the ratio is the median of the
 * pair ratios, so a machine that slows down during the run moves both sides.
 *
 * The CLI measured is the compiled one (dist/, what an installed package
 * runs): this builds it first when it is not current. The user scenario is
 * the file `dmabuf-lab new` writes, outside the checkout, importing
 * `dmabuf-lab/scenario` and `dmabuf-lab/kernel`; `user-scenario-explore.ts`
 * is the same importing `defineScenario` from `dmabuf-lab/explore` (the
 * explorer loads too; zod only when a result file is read), `user-scenario-root.ts` the same importing
 * everything from `dmabuf-lab` (the whole library loads). Extra rows show
 * where the time goes (worker start, the model's modules, the explorer, zod,
 * the TypeScript loader) and the same `run` from the TypeScript sources, as a
 * checkout without a build runs it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scenarioSource } from '../src/cli/new-command.ts';
import { median } from './result.ts';
import type { BenchResult } from './result.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const bin = join(root, 'bin/dmabuf-lab.js');
const RUNS = Number(process.env.STARTUP_RUNS ?? 11);

interface Timed {
  ms: number;
  stdout: string;
}

function time(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Timed {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, {
    cwd,
    env: { ...process.env, NO_COLOR: '1', CI: '1', ...env },
    encoding: 'utf8',
  });
  const ms = performance.now() - t0;
  if (r.status !== 0 && r.status !== 1)
    throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

/** Median ms of `args`, and the median of its ratios to `node -e 0` run alternately. */
function paired(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, runs = RUNS) {
  time(args, cwd, env); // warm-up: file cache, tsx's transform cache
  const a: number[] = [];
  const b: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < runs; i++) {
    const x = time(args, cwd, env).ms;
    const y = time(['-e', '0'], cwd).ms;
    a.push(x);
    b.push(y);
    ratios.push(x / y);
  }
  return { ms: median(a), baseline: median(b), ratio: median(ratios) };
}

function ensureBuilt(): string {
  const check = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { distIsCurrent } from ${JSON.stringify(join(root, 'scripts/dist-stamp.mjs'))}; process.exit(distIsCurrent(new URL('file://${root}/')) ? 0 : 3);`,
    ],
    { encoding: 'utf8' },
  );
  if (check.status === 0) return 'dist/ current';
  process.stderr.write('  dist/ is not current: npm run build ...\n');
  const b = spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], {
    cwd: root,
    stdio: 'inherit',
  });
  if (b.status !== 0) throw new Error('the build failed');
  return 'built dist/ first';
}

/** ms a child node process reports for `code` (an ES module printing one number). */
function inner(code: string, cwd: string): number {
  const xs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
      cwd,
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(r.stderr);
    xs.push(Number(r.stdout.trim()));
  }
  return median(xs);
}

export function benchStartup(): BenchResult[] {
  const built = ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'dmabuf-lab-startup-'));
  writeFileSync(
    join(dir, 'user-scenario.ts'),
    scenarioSource('user-scenario', (layer) => `dmabuf-lab/${layer}`, './user-scenario.ts'),
  );
  // The same scenario importing defineScenario from the explorer's entry.
  writeFileSync(
    join(dir, 'user-scenario-explore.ts'),
    scenarioSource('user-scenario', (layer) => `dmabuf-lab/${layer === 'scenario' ? 'explore' : layer}`, './user-scenario-explore.ts'),
  );
  // The same scenario importing the whole library by its root.
  writeFileSync(
    join(dir, 'user-scenario-root.ts'),
    scenarioSource('user-scenario', () => 'dmabuf-lab', './user-scenario-root.ts').replace(
      /import \{ defineScenario \} from 'dmabuf-lab';\nimport \{ msleep, Mutex \} from 'dmabuf-lab';/,
      "import { defineScenario, msleep, Mutex } from 'dmabuf-lab';",
    ),
  );
  const rows: [string, string[], number, NodeJS.ProcessEnv?][] = [
    ['dmabuf-lab --help', [bin, '--help'], 2],
    ['dmabuf-lab run mutex-abba', [bin, 'run', 'mutex-abba'], 4],
    ['dmabuf-lab run ./user-scenario.ts', [bin, 'run', './user-scenario.ts'], 6],
    ['dmabuf-lab run ./user-scenario-explore.ts', [bin, 'run', './user-scenario-explore.ts'], 6],
    ['dmabuf-lab run ./user-scenario-root.ts', [bin, 'run', './user-scenario-root.ts'], 6],
  ];
  const out: BenchResult[] = [];
  for (const [name, args, target] of rows) {
    const r = paired(args, dir);
    out.push({
      name: `startup: ${name}`,
      value: r.ms,
      unit: 'ms',
      baseline: r.baseline,
      ratio: r.ratio,
      note: `x node -e 0 (median of paired ratios; target <= ${target}x; ${built})`,
    });
  }
  const src = paired([bin, 'run', 'mutex-abba'], dir, { DMABUF_LAB_SOURCES: '1' }, 5);
  out.push({
    name: 'startup: run mutex-abba from sources',
    value: src.ms,
    unit: 'ms',
    baseline: src.baseline,
    ratio: src.ratio,
    note: 'a checkout without a build (tsx in both threads): the start-up before this package was compiled',
  });

  // Where the time goes: pieces measured inside fresh processes.
  const model = new URL('../dist/src/scenario/index.js', import.meta.url).href;
  const explorer = new URL('../dist/src/explore/index.js', import.meta.url).href;
  const all = new URL('../dist/src/index.js', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm');
  const pieces: [string, string][] = [
    [
      'worker thread start (empty worker, to first message)',
      `import { Worker } from 'node:worker_threads'; const t = performance.now(); const w = new Worker('require("node:worker_threads").parentPort.postMessage(0)', { eval: true, execArgv: [] }); w.on('message', () => { console.log(performance.now() - t); w.terminate(); });`,
    ],
    [
      'import commander + picocolors (the CLI main thread)',
      `const t = performance.now(); await import('@commander-js/extra-typings'); await import('picocolors'); console.log(performance.now() - t);`,
    ],
    [
      'import the model a run needs (dist/src/scenario: kernel, checkers, runner)',
      `const t = performance.now(); await import(${JSON.stringify(model)}); console.log(performance.now() - t);`,
    ],
    [
      'import the explorer on top of it (dist/src/explore; zod waits for a result file to read)',
      `await import(${JSON.stringify(model)}); const t = performance.now(); await import(${JSON.stringify(explorer)}); console.log(performance.now() - t);`,
    ],
    [
      'import zod alone',
      `const t = performance.now(); await import('zod'); console.log(performance.now() - t);`,
    ],
    [
      'import the whole library (dist/src/index.js)',
      `const t = performance.now(); await import(${JSON.stringify(all)}); console.log(performance.now() - t);`,
    ],
    [
      'register tsx (module-hooks thread + tsx/esm)',
      `import { register } from 'node:module'; const t = performance.now(); register(${JSON.stringify(tsx)}, { parentURL: import.meta.url, data: {} }); console.log(performance.now() - t);`,
    ],
  ];
  for (const [name, code] of pieces)
    out.push({ name: `startup piece: ${name}`, value: inner(code, root), unit: 'ms' });
  return out;
}
