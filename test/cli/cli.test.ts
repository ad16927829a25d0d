/**
 * The command end to end: every invocation spawns `node bin/dmabuf-lab.js`
 * (all of them at once in beforeAll, so the file stays fast) and the tests
 * check exit codes, output and written files.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import type { ChromeTrace } from '../../src/trace/index.ts';
import { traceProblems } from '../trace/validate-trace.ts';

const root = process.cwd();
const bin = join(root, 'bin/dmabuf-lab.js');
const dir = mkdtempSync(join(tmpdir(), 'dmabuf-lab-cli-'));
const lib = (p: string): string => JSON.stringify(join(root, p));

function scenarioFile(name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(
    p,
    `import { defineScenario } from ${lib('src/explore/index.ts')};\n` +
      `import { condResched, msleep } from ${lib('src/kernel/index.ts')};\n` +
      `export default defineScenario(${body});\n`,
  );
  return p;
}

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      // DMABUF_LAB_SOURCES: the current sources, never a dist/ left by an earlier build.
      {
        cwd: dir,
        env: { ...process.env, NO_COLOR: '1', CI: '1', DMABUF_LAB_SOURCES: '1' },
        timeout: 30_000,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const files = {
  spin: scenarioFile(
    'spin.ts',
    `{ name: 'spin', description: 'a thread spins', expect: { verdict: 'clean' }, setup(k) {
      k.kthreadRun('sleeper', async () => { await msleep(k, 1); });
      k.kthreadRun('spinner', async () => { let x = 0; for (;;) x++; });
    } }`,
  ),
  // A long host timer: the kernel's hand-off message must arrive before it
  // fires even when a loaded machine stalls the process for a few ms.
  foreign: scenarioFile(
    'foreign.ts',
    `{ name: 'foreign', description: '', expect: { verdict: 'clean' }, setup(k) {
      k.kthreadRun('waiter', async () => { await new Promise((r) => setTimeout(r, 500)); });
    } }`,
  ),
  poll: scenarioFile(
    'poll.ts',
    `{ name: 'poll', description: '', expect: { verdict: 'clean' }, setup(k) {
      k.kthreadRun('poller', async () => { for (;;) await condResched(k); });
    } }`,
  ),
  syntax: join(dir, 'syntax.ts'),
  throws: join(dir, 'throws.mjs'),
  nothing: join(dir, 'nothing.ts'),
};
writeFileSync(files.syntax, `export default { name: 'x' description: 'y' };\n`);
writeFileSync(files.throws, `throw new Error('boom at load');\n`);
writeFileSync(files.nothing, `export const answer: number = 42;\n`);
writeFileSync(
  join(dir, 'bogus.schedule.json'),
  JSON.stringify({
    scenario: 'mutex-abba',
    seed: 1,
    decisions: [{ kind: 'thread', label: 'no_such_thread' }],
  }),
);

const runs: Record<string, Ran> = {};
const jobs: Record<string, string[]> = {
  text: [
    'run',
    'mutex-abba',
    '--seed',
    '2',
    '--trace',
    'abba.trace.json',
    '--save-schedule',
    'abba.schedule.json',
  ],
  list: ['list'],
  help: ['run', '--help'],
  unknownScenario: ['run', 'no-such-scenario'],
  missing: ['run', './missing.ts'],
  syntax: ['run', files.syntax],
  throws: ['run', files.throws],
  nothing: ['run', files.nothing],
  spin: ['run', files.spin, '--timeout', '2', '--trace', 'spin.trace.json'],
  foreign: ['run', files.foreign],
  stepLimit: ['run', files.poll, '--max-steps', '500'],
  unknownOption: ['run', 'mutex-abba', '--frobnicate'],
  badSeed: ['run', 'mutex-abba', '--seed', 'soon'],
  explain: ['explain', 'sched.deadlock'],
  diverge: ['replay', 'bogus.schedule.json'],
  // One seed is not enough for mutex-abba (seed 1 does not deadlock): check must fail.
  check: ['check', '--json', '--seeds', '1', '--trace-dir', 'check-out'],
};

beforeAll(async () => {
  // A few processes at a time: more only thrash a small machine.
  const queue = Object.keys(jobs);
  const lane = async (): Promise<void> => {
    for (let n = queue.shift(); n !== undefined; n = queue.shift())
      runs[n] = await cli(...jobs[n]!);
  };
  await Promise.all(Array.from({ length: Math.max(2, availableParallelism()) }, lane));
  // The replay needs the schedule written by the first run.
  runs.replay = await cli('replay', 'abba.schedule.json', '--trace', 'replay.trace.json', '--json');
  // Each process has its own 30 s limit; this one only catches a hang. A loaded
  // machine (the package test builds and installs alongside) needs more than a minute.
}, 240_000);

describe('dmabuf-lab run', () => {
  test('runs a built-in scenario and prints limits, seed, result, splats and the replay command', () => {
    const r = runs.text!;
    expect(r.code).toBe(1); // seed 2 deadlocks
    for (const w of [
      'limits:',
      'max steps 5,000,000',
      'seed:',
      'result:',
      'deadlock after',
      '[sched.deadlock]',
      'thread_ab blocked',
      'replay:   dmabuf-lab run mutex-abba --seed 2',
    ]) {
      expect(r.stdout).toContain(w);
    }
  });

  test('--json prints one parseable object with the same data', () => {
    const j = JSON.parse(runs.replay!.stdout) as Record<string, unknown>;
    expect(j).toMatchObject({
      command: 'replay',
      seed: 2,
      status: 'done',
      exitCode: 1,
      result: { end: 'deadlock' },
    });
    expect((j.splats as { rule: string }[]).map((s) => s.rule)).toContain('sched.deadlock');
    expect(j.replay).toMatch(/^dmabuf-lab replay .*abba\.schedule\.json$/);
  });

  test('writes a trace with a track per thread, metadata names and no structural problem', () => {
    const trace = JSON.parse(readFileSync(join(dir, 'abba.trace.json'), 'utf8')) as ChromeTrace;
    expect(traceProblems(trace)).toEqual([]);
    const names = trace.traceEvents
      .filter((e) => e.ph === 'M' && e.name === 'thread_name')
      .map((e) => e.args!.name);
    expect(names).toEqual(expect.arrayContaining(['thread_ab', 'thread_ba']));
    expect(trace.otherData.replay).toBe('dmabuf-lab run mutex-abba --seed 2');
  });

  test('a saved schedule replays to the same event stream', () => {
    const printed = /events:\s+sha256 ([0-9a-f]{16})/.exec(runs.text!.stdout)![1]!;
    const b = JSON.parse(runs.replay!.stdout) as {
      eventHash: string;
      result: { unusedDecisions: number };
    };
    expect(runs.replay!.code).toBe(1);
    expect(b.eventHash.startsWith(printed)).toBe(true);
    expect(b.result.unusedDecisions).toBe(0);
  });

  test('--help describes the options', () => {
    expect(runs.help!.code).toBe(0);
    for (const o of [
      '--seed',
      '--trace',
      '--json',
      '--timeout',
      '--max-steps',
      '--max-time-ms',
      '--stacks',
      '--save-schedule',
    ])
      expect(runs.help!.stdout).toContain(o);
  });
});

describe('bad input ends with exit 2 and a message saying what to do', () => {
  test('unknown scenario name', () => {
    expect(runs.unknownScenario!.code).toBe(2);
    expect(runs.unknownScenario!.stderr).toMatch(
      /no built-in scenario named "no-such-scenario".*dmabuf-lab list/s,
    );
  });

  test('missing file', () => {
    expect(runs.missing!.code).toBe(2);
    expect(runs.missing!.stderr).toMatch(/missing\.ts does not exist/);
  });

  test('file with a syntax error shows the first lines of the error', () => {
    expect(runs.syntax!.code).toBe(2);
    expect(runs.syntax!.stderr).toMatch(/does not load/);
    expect(runs.syntax!.stderr).toMatch(/syntax\.ts:1:\d+/);
  });

  test('file that throws on load', () => {
    expect(runs.throws!.code).toBe(2);
    expect(runs.throws!.stderr).toMatch(/does not load: boom at load/);
  });

  test('file that exports no scenario says what to export', () => {
    expect(runs.nothing!.code).toBe(2);
    expect(runs.nothing!.stderr).toMatch(/exports no scenario/);
    expect(runs.nothing!.stderr).toMatch(/export default defineScenario/);
  });

  test('a thread in a synchronous loop is stopped by --timeout, named, and the summary and trace are still written', () => {
    const r = runs.spin!;
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/thread "spinner" was running and never reached a kernel operation/);
    expect(r.stdout).toContain('dmabuf-lab run spin');
    expect(r.stdout).toContain('stopped by the watchdog');
    const trace = JSON.parse(readFileSync(join(dir, 'spin.trace.json'), 'utf8')) as ChromeTrace;
    expect(traceProblems(trace)).toEqual([]);
    expect(trace.traceEvents.some((e) => e.cat === 'watchdog')).toBe(true);
  });

  test('a thread awaiting a host timer fails the run naming the thread', () => {
    expect(runs.foreign!.code).toBe(2);
    expect(runs.foreign!.stderr).toMatch(
      /thread "waiter" awaited something that is not a kernel operation/,
    );
    expect(runs.foreign!.stdout).toContain('result:');
  });

  test('a schedule that no longer fits the scenario stops the replay at the diverging decision', () => {
    expect(runs.diverge!.code).toBe(2);
    expect(runs.diverge!.stderr).toMatch(
      /replay diverged at decision 0: the schedule says thread "no_such_thread"/,
    );
    expect(runs.diverge!.stderr).toMatch(/Record a new schedule/);
  });

  test('unknown option and malformed value are usage errors', () => {
    expect(runs.unknownOption!.code).toBe(2);
    expect(runs.unknownOption!.stderr).toMatch(/unknown option '--frobnicate'/);
    expect(runs.badSeed!.code).toBe(2);
    expect(runs.badSeed!.stderr).toMatch(/--seed/);
  });
});

describe('limits', () => {
  test('reaching the step limit exits 1 with a report', () => {
    const r = runs.stepLimit!;
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('step-limit after 500 steps');
    expect(r.stdout).toContain('[run.limit]');
    expect(r.stderr).toMatch(/raise --max-steps/);
    expect(r.stdout).toContain('--max-steps 500');
  });
});

describe('other commands', () => {
  test('check runs the catalogue, reports each verdict, writes the flagship trace and fails when a verdict differs', () => {
    const r = runs.check!;
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout) as {
      ok: boolean;
      trace: string;
      scenarios: { name: string; matches: boolean; expected: string; actual: string }[];
    };
    expect(j.ok).toBe(false);
    const abba = j.scenarios.find((s) => s.name === 'mutex-abba')!;
    expect(abba).toMatchObject({ matches: false, expected: 'splat sched.deadlock (some seeds)' });
    expect(j.scenarios.find((s) => s.name === 'ww-backoff')).toMatchObject({
      matches: true,
      actual: 'clean',
    });
    const trace = JSON.parse(readFileSync(j.trace, 'utf8')) as ChromeTrace;
    expect(traceProblems(trace)).toEqual([]);
  });

  test('list shows every built-in with its expectation', () => {
    expect(runs.list!.code).toBe(0);
    expect(runs.list!.stdout).toMatch(/mutex-abba\s+expect splat sched\.deadlock \(some seeds\)/);
  });

  test('explain prints a rule', () => {
    expect(runs.explain!.code).toBe(0);
    expect(runs.explain!.stdout).toContain('sched.deadlock');
  });
});
