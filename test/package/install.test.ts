/**
 * The package as a user gets it: `npm pack` (which builds dist/), install the
 * tarball into an empty project from the registry (with typescript and
 * vitest, as a driver developer's project would have), then use it there:
 * the command, scenario files in TypeScript and JavaScript importing the
 * package and a subpath, `dmabuf-lab new`, types checked by tsc, and the
 * `dmabuf-lab/vitest` entry in a test file. Slow (a build and an install,
 * about a minute): everything happens once, in beforeAll.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';

const root = process.cwd();
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  devDependencies: Record<string, string>;
};
const project = mkdtempSync(join(tmpdir(), 'dmabuf-lab-user-'));

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `cmd` without a shell; npm's own variables from `npm test` are left out. */
function sh(cmd: string, args: string[], cwd: string, timeoutMs = 120_000): Promise<Ran> {
  const env: NodeJS.ProcessEnv = { NO_COLOR: '1', CI: '1' };
  for (const [k, v] of Object.entries(process.env))
    if (
      !k.startsWith('npm_') &&
      k !== 'INIT_CWD' &&
      k !== 'NODE_OPTIONS' &&
      k !== 'VITEST' &&
      !k.startsWith('VITEST_')
    )
      env[k] = v;
  env.NO_COLOR = '1';
  env.CI = '1';
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { cwd, env, timeout: timeoutMs, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

const npx = (...args: string[]): Promise<Ran> => sh('npx', ['--no-install', ...args], project);

function write(name: string, text: string): void {
  writeFileSync(join(project, name), text);
}

const SCENARIO = `import { defineScenario, Mutex, msleep } from 'dmabuf-lab';
import { DmaFence } from 'dmabuf-lab/fence';
import { SpinLock } from 'dmabuf-lab/kernel';

export default defineScenario({
  name: 'user-fence',
  description: 'a producer signals a fence a consumer waits for, under no lock',
  expect: { verdict: 'clean' },
  setup(k, ctx) {
    const ops = { getDriverName: (): string => 'user', getTimelineName: (): string => 'ring' };
    const fence = new DmaFence(k, ops, new SpinLock(k, 'user_fence_lock'), 1, 1);
    const lock = new Mutex(k, 'user_lock');
    k.kthreadRun('producer', async () => {
      await lock.lock();
      lock.unlock();
      await msleep(k, 1);
      fence.signal();
    });
    k.kthreadRun('consumer', async () => {
      const r: number = await fence.wait(false);
      ctx.note(\`wait returned \${r}\`);
      fence.put();
    });
  },
});
`;

const TEST_FILE = `import { expect, test } from 'vitest';
import { exploreInTest, runInTest } from 'dmabuf-lab/vitest';
import userFence from './user-fence.scenario.js';

test('the user scenario is clean on 20 schedules', async () => {
  expect(await exploreInTest(userFence, { schedules: 20 })).toBeClean();
});
test('a built-in bug is reported', async () => {
  expect(await runInTest('mutex-abba', { seed: 2 })).toReport('sched.deadlock');
});
test('a scenario file by path (loaded by the package, compiled)', async () => {
  const run = await runInTest('./user-fence.scenario.ts', { seed: 3 });
  expect(run).toBeClean();
  expect(run.replay).toBe('dmabuf-lab run ./user-fence.scenario.ts --seed 3');
});
test('a failing expectation prints the splat and the replay command', async () => {
  expect(await runInTest('lockdep-abba')).toBeClean();
});
`;

const runs: Record<string, Ran> = {};
let tarball = '';

beforeAll(async () => {
  const packed = await sh('npm', ['pack', '--pack-destination', project], root, 300_000);
  if (packed.code !== 0) throw new Error(`npm pack failed:\n${packed.stdout}\n${packed.stderr}`);
  tarball = `${pkg.name}-${pkg.version}.tgz`;
  write(
    'package.json',
    JSON.stringify({ name: 'driver-project', version: '1.0.0', private: true }),
  );
  const dev = pkg.devDependencies;
  const installed = await sh(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      `./${tarball}`,
      `typescript@${dev.typescript!}`,
      `@types/node@${dev['@types/node']!}`,
      `vitest@${dev.vitest!}`,
    ],
    project,
    300_000,
  );
  if (installed.code !== 0)
    throw new Error(`npm install failed:\n${installed.stdout}\n${installed.stderr}`);

  write('user-fence.scenario.ts', SCENARIO);
  // The same scenario in JavaScript: type annotations removed.
  write('user-fence.scenario.mjs', SCENARIO.replaceAll(': string', '').replace(': number', ''));
  write(
    'wrong.ts',
    "import { Mutex } from 'dmabuf-lab';\nexport const m: Mutex = new Mutex(null, 42);\n",
  );
  write('driver.test.ts', TEST_FILE);
  write(
    'tsconfig.json',
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        types: ['node'],
        strict: true,
        noEmit: true,
        skipLibCheck: false,
      },
      include: ['*.ts'],
      exclude: ['wrong.ts'],
    }),
  );
  write(
    'tsconfig.wrong.json',
    JSON.stringify({ extends: './tsconfig.json', include: ['wrong.ts'], exclude: [] }),
  );

  // Two lanes: the machine has two cores.
  const lanes: (() => Promise<void>)[] = [
    async () => {
      runs.help = await npx('dmabuf-lab', '--help');
      runs.list = await npx('dmabuf-lab', 'list');
      runs.builtin = await npx('dmabuf-lab', 'run', 'mutex-abba', '--seed', '2');
      runs.ts = await npx('dmabuf-lab', 'run', './user-fence.scenario.ts', '--json');
      runs.mjs = await npx('dmabuf-lab', 'run', './user-fence.scenario.mjs', '--json');
      runs.made = await npx('dmabuf-lab', 'new', 'my-driver');
      runs.madeRun = await npx('dmabuf-lab', 'run', './my-driver.ts');
      runs.vitest = await npx('vitest', 'run', 'driver.test.ts');
      // The explorer's worker pool, compiled: a user's .ts file and a built-in, 1 and 2 workers.
      for (const workers of ['1', '2']) {
        runs[`exploreTs${workers}`] = await npx('dmabuf-lab', 'explore', './user-fence.scenario.ts', '--strategy', 'random', '--schedules', '40', '--until', 'all', '--workers', workers, '--json');
        runs[`exploreSignal${workers}`] = await npx('dmabuf-lab', 'explore', 'wait-ioctl-signal-leak', '--faults', 'signal', '--strategy', 'dfs', '--max-faults', '2', '--until', 'all', '--workers', workers, '--json');
      }
    },
    async () => {
      runs.tscWrong = await npx('tsc', '-p', 'tsconfig.wrong.json');
      // After `new` (the other lane) wrote my-driver.ts, so that it is checked too.
      while (!runs.made) await new Promise((r) => setTimeout(r, 100));
      runs.tsc = await npx('tsc', '-p', '.');
    },
  ];
  await Promise.all(lanes.map((l) => l()));
}, 900_000);

describe('the packed tarball', () => {
  test('holds the compiled library, scenarios and types, and no sources, tests or benchmarks', async () => {
    const list = (await sh('tar', ['tzf', tarball], project)).stdout.split('\n').filter(Boolean);
    const files = list.map((f) => f.replace(/^package\//, ''));
    for (const f of [
      'bin/dmabuf-lab.js',
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/src/cli/main.js',
      'dist/src/vitest/index.d.ts',
      'dist/scenarios/mutex-abba.js',
      'README.md',
      'package.json',
    ])
      expect(files).toContain(f);
    expect(
      files.filter((f) => /^(src|test|bench|scripts|dist\/test|dist\/bench)\//.test(f)),
    ).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files).not.toContain('dist/.build-stamp.json');
  });
});

describe('installed into an empty project', () => {
  test('npx dmabuf-lab --help prints the commands', () => {
    expect(runs.help!.code).toBe(0);
    expect(runs.help!.stdout).toContain('Usage: dmabuf-lab');
    for (const c of ['run', 'replay', 'check', 'list', 'explain', 'new'])
      expect(runs.help!.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
  });

  test('list shows the built-in scenarios', () => {
    expect(runs.list!.code).toBe(0);
    expect(runs.list!.stdout).toMatch(/^mutex-abba\s+expect splat sched\.deadlock/m);
  });

  test('run <built-in> finds the deadlock on seed 2', () => {
    expect(runs.builtin!.code).toBe(1);
    expect(runs.builtin!.stdout).toContain('[sched.deadlock]');
    expect(runs.builtin!.stdout).toContain('replay:   dmabuf-lab run mutex-abba --seed 2');
  });

  test('run ./x.ts and ./x.mjs: scenarios importing the package and its subpaths run clean', () => {
    for (const r of [runs.ts!, runs.mjs!]) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const s = JSON.parse(r.stdout) as { verdict: { actual: string }; notes: string[] };
      expect(s.verdict.actual).toBe('clean');
      expect(s.notes).toEqual(['wait returned 0']);
    }
  });

  test('new writes a scenario that imports the package and runs clean', () => {
    expect(runs.made!.code).toBe(0);
    expect(runs.made!.stdout).toContain("imports 'dmabuf-lab/scenario' and 'dmabuf-lab/kernel'");
    expect(runs.made!.stdout).not.toContain('note: no node_modules');
    expect(runs.madeRun!.code).toBe(0);
    expect(runs.madeRun!.stdout).toContain('expected: clean: this run matches');
  });

  test('explore --workers 2 gives the result --workers 1 gives (the pool runs compiled code)', () => {
    // stderr: nothing but the progress lines a slow exploration prints (after 2 s, when not a terminal).
    const notProgress = (stderr: string): string[] =>
      stderr.split('\n').filter((l) => l !== '' && !/^explore \S+ \[[=-]+\] [\d,]+\/[\d,]+ schedules/.test(l));
    for (const name of ['exploreTs', 'exploreSignal']) {
      const one = runs[`${name}1`]!;
      const two = runs[`${name}2`]!;
      expect(notProgress(one.stderr), name).toEqual([]);
      expect(notProgress(two.stderr), name).toEqual([]);
      expect(two.stdout, name).toBe(one.stdout);
    }
    expect(runs.exploreTs1!.code).toBe(0);
    expect(JSON.parse(runs.exploreTs1!.stdout)).toMatchObject({ schedules: 40, bugs: [] });
    expect(runs.exploreSignal1!.code).toBe(1);
    expect(JSON.parse(runs.exploreSignal1!.stdout)).toMatchObject({ exhausted: true, bugs: [{ rule: 'lifetime.leak' }] });
  });

  test("tsc --noEmit passes on the user's files, with the package's types (not any)", () => {
    expect(runs.tsc!.stdout + runs.tsc!.stderr).toBe('');
    expect(runs.tsc!.code).toBe(0);
    // A wrong argument type is caught: the declarations are real.
    expect(runs.tscWrong!.code).not.toBe(0);
    expect(runs.tscWrong!.stdout).toContain(
      "Argument of type 'null' is not assignable to parameter of type 'Kernel'",
    );
  });

  test('dmabuf-lab/vitest: matchers and helpers in a test file, with the splat and replay in a failure', () => {
    const out = runs.vitest!.stdout + runs.vitest!.stderr;
    expect(out).toMatch(/Tests\s+1 failed \| 3 passed/);
    expect(out).toContain('expected lockdep-abba (seed 1) to be clean, but it reported');
    expect(out).toContain(
      '[lockdep.circular] WARNING: possible circular locking dependency detected',
    );
    expect(out).toContain('replay: dmabuf-lab run lockdep-abba --seed 1');
    expect(runs.vitest!.code).toBe(1);
  });
});
