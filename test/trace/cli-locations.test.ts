/**
 * Source locations and event hashes from the command line: a run that
 * reports something is replayed with stacks on, so its splats and thread
 * errors name the scenario's own lines (relative to the working directory)
 * without --stacks; --json always carries eventHash, and a replay of the
 * saved schedule has the same one.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import type { ReportStack } from '../../src/kernel/index.ts';

const root = process.cwd();
const bin = join(root, 'bin/dmabuf-lab.js');
const dir = mkdtempSync(join(tmpdir(), 'dmabuf-lab-locations-'));

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(cwd: string, ...args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd, timeout: 120_000, env: { ...process.env, NO_COLOR: '1' } },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

interface RunJson {
  eventHash: string | null;
  trace: string | null;
  stacks: string;
  splats: { rule: string; stacks?: ReportStack[] }[];
  failure: {
    message: string;
    stack?: { kind: string; file?: string; line?: number; fn?: string }[];
  } | null;
}

const json = (r: Ran): RunJson => JSON.parse(r.stdout) as RunJson;

// A user scenario in its own directory (the CLI runs there): it throws from a helper.
writeFileSync(
  join(dir, 'throws.ts'),
  `import { defineScenario } from ${JSON.stringify(join(root, 'src/explore/index.ts'))};
function importerCheck(ok: boolean): void {
  if (!ok) throw new Error('importer saw stale memory');
}
export default defineScenario({
  name: 'throws',
  description: 'a thread throws from a helper',
  expect: { verdict: 'clean' },
  setup(k) {
    k.kthreadRun('importer', async () => {
      await k.schedulePoint('yield');
      importerCheck(false);
    });
  },
});
`,
);

const runs: Record<string, Ran> = {};

beforeAll(async () => {
  const sched = join(dir, 'abba.json');
  const [json1, text, stacks, thrown, thrownJson] = await Promise.all([
    cli(root, 'run', 'mutex-abba', '--seed', '2', '--json', '--save-schedule', sched),
    cli(root, 'run', 'mutex-abba', '--seed', '2'),
    cli(root, 'run', 'mutex-abba', '--seed', '2', '--json', '--stacks'),
    cli(dir, 'run', 'throws.ts'),
    cli(dir, 'run', 'throws.ts', '--json'),
  ]);
  Object.assign(runs, { json1, text, stacks, thrown, thrownJson });
  [runs.notation, runs.explain] = await Promise.all([
    cli(root, 'explain', 'notation'),
    cli(root, 'explain', 'lockdep.circular'),
  ]);
  runs.replay = await cli(root, 'replay', sched, '--json');
}, 180_000);

describe('source locations by default', () => {
  test('a run with splats is replayed with stacks: every splat has backtraces through the scenario file', () => {
    const r = json(runs.json1!);
    expect(runs.json1!.code).toBe(1);
    expect(r.stacks).toBe('replayed');
    for (const s of r.splats) {
      expect(s.stacks!.length).toBeGreaterThan(0);
      for (const st of s.stacks!)
        expect(
          st.frames.some((f) => f.kind === 'user' && f.file === 'scenarios/mutex-abba.ts'),
        ).toBe(true);
    }
  });

  test('the summary prints them, user frames as file:line:col', () => {
    const out = runs.text!.stdout;
    expect(out).toContain(
      'backtraces (innermost first, library frames folded; from a replay of this schedule with stack capture):',
    );
    expect(out).toMatch(
      /acquiring lock_b \(thread_ab, step 6\):\n\s+\[\d+ library frames?\] Mutex\.lock \(src\/kernel\/mutex\.ts:\d+:\d+\)\n\s+<thread body> \(scenarios\/mutex-abba\.ts:25:15\)/,
    );
  });

  test('--stacks captures from the start', () => {
    const r = json(runs.stacks!);
    expect(r.stacks).toBe('captured');
    expect(r.splats[0]!.stacks!.length).toBeGreaterThan(0);
  });

  test('a thread error names the line that threw, relative to the working directory', () => {
    expect(runs.thrown!.code).toBe(2);
    expect(runs.thrown!.stdout).toMatch(
      /thrown: {3}thread "importer" threw: importer saw stale memory\n\s+importerCheck \(throws\.ts:3:\d+\)\n\s+<thread body> \(throws\.ts:12:\d+\)/,
    );
    const f = json(runs.thrownJson!).failure!;
    expect(f.stack![0]).toMatchObject({
      kind: 'user',
      fn: 'importerCheck',
      file: 'throws.ts',
      line: 3,
    });
  });
});

describe('eventHash', () => {
  test('--json always carries it, without a trace file', () => {
    const r = json(runs.json1!);
    expect(r.trace).toBeNull();
    expect(r.eventHash).toMatch(/^[0-9a-f]{64}$/);
    expect(json(runs.thrownJson!).eventHash).toMatch(/^[0-9a-f]{64}$/);
  });

  test('a replay of the saved schedule has the same one, and capturing stacks does not change it', () => {
    expect(json(runs.replay!).eventHash).toBe(json(runs.json1!).eventHash);
    expect(json(runs.stacks!).eventHash).toBe(json(runs.json1!).eventHash);
  });
});

describe('explain', () => {
  test('explains the notation of lockdep reports, alone and after a lockdep rule', () => {
    expect(runs.notation!.code).toBe(0);
    for (const out of [runs.notation!.stdout, runs.explain!.stdout]) {
      expect(out).toContain('Usage characters: (lock){+.+.}');
      expect(out).toMatch(/\[EN\] +the usual case/);
      expect(out).toMatch(/4 +SLEEP/);
    }
  });
});
