/**
 * Source locations in reports: backtraces through the scenario's own files,
 * library frames folded, captured only when asked, and never changing what
 * a run does.
 */
import { describe, expect, test } from 'vitest';
import {
  defineScenario,
  listBuiltinScenarios,
  loadScenario,
  runScenario,
} from '../../src/explore/index.ts';
import type { Scenario } from '../../src/explore/index.ts';
import {
  foldStack,
  formatFolded,
  GFP_KERNEL,
  kmalloc,
  Mutex,
  parseStack,
  ReplayChooser,
  siteOfStack,
} from '../../src/kernel/index.ts';
import type { FoldedFrame, ReportStack } from '../../src/kernel/index.ts';
import { eventStreamHash } from '../../src/trace/index.ts';

const THIS_FILE = 'test/trace/stack-capture.test.ts';

function userLines(s: ReportStack): string[] {
  return s.frames.flatMap((f) => (f.kind === 'user' ? [`${f.file}:${f.line}`] : []));
}

function noTwoLibraryRunsInARow(frames: readonly FoldedFrame[]): boolean {
  return frames.every((f, i) => i === 0 || f.kind === 'user' || frames[i - 1]!.kind === 'user');
}

/** A user helper between the thread body and the lock, so the backtrace has two user frames. */
async function takeBoth(first: Mutex, second: Mutex): Promise<void> {
  await first.lock();
  await second.lock();
  second.unlock();
  first.unlock();
}

const abba: Scenario = defineScenario({
  name: 'abba-through-a-helper',
  description: 'the ABBA inversion through a helper function',
  expect: { verdict: 'splat', rules: ['lockdep.circular'] },
  setup(k) {
    const a = new Mutex(k, 'a', { key: 'stack-test:a' });
    const b = new Mutex(k, 'b', { key: 'stack-test:b' });
    k.kthreadRun('ab', async () => {
      await takeBoth(a, b);
    });
    k.kthreadRun('ba', async () => {
      await takeBoth(b, a);
    });
  },
});

describe('site capture', () => {
  test('a lockdep splat carries the backtrace of each acquisition through the scenario file, library frames folded', async () => {
    const run = await runScenario(abba, { seed: 1, captureStacks: true });
    const splat = run.result.splats.find((s) => s.rule === 'lockdep.circular')!;
    const stacks = splat.stacks!;
    const labels = stacks.map((s) => s.label);
    expect(labels[0]).toMatch(/^acquiring /);
    expect(labels.some((l) => / acquired while holding /.test(l))).toBe(true);
    for (const s of stacks) {
      // innermost first: the folded Mutex.lock, then the helper, then the thread body
      expect(s.frames[0]!.kind).toBe('library');
      const user = userLines(s);
      expect(user.length).toBeGreaterThanOrEqual(2);
      expect(user.every((u) => u.startsWith(`${THIS_FILE}:`))).toBe(true);
      expect(noTwoLibraryRunsInARow(s.frames)).toBe(true);
    }
    const helper = stacks[0]!.frames.find((f) => f.kind === 'user')!;
    expect(helper.kind === 'user' && helper.fn).toBe('takeBoth');
    // the one-line site in the text is the innermost user frame
    expect(splat.body).toMatch(new RegExp(`at: ${THIS_FILE.replace(/\./g, '\\.')}:\\d+:\\d+`));
  });

  test('without capture the splats carry no backtraces', async () => {
    const run = await runScenario(abba, { seed: 1 });
    expect(run.result.splats.length).toBeGreaterThan(0);
    expect(run.result.splats.every((s) => s.stacks === undefined)).toBe(true);
  });

  test('a deadlock report has where each thread blocked and what it holds', async () => {
    const { scenario } = await loadScenario('mutex-abba');
    const run = await runScenario(scenario, { seed: 2, captureStacks: true });
    const dl = run.result.splats.find((s) => s.rule === 'sched.deadlock')!;
    const labels = dl.stacks!.map((s) => s.label);
    expect(labels).toEqual(
      expect.arrayContaining([
        'thread_ab blocked in mutex_lock',
        'thread_ab holding lock_a, acquired',
        'thread_ba blocked in mutex_lock',
        'thread_ba holding lock_b, acquired',
      ]),
    );
    for (const s of dl.stacks!) expect(userLines(s)[0]).toMatch(/^scenarios\/mutex-abba\.ts:\d+$/);
  });

  test('a thread that throws has its throw site, even without capture', async () => {
    function check(ok: boolean): void {
      if (!ok) throw new Error('the importer saw stale memory');
    }
    const s = defineScenario({
      name: 'throws',
      description: 'a thread throws from a helper',
      expect: { verdict: 'clean' },
      setup(k) {
        k.kthreadRun('t', async () => {
          await k.schedulePoint('yield');
          check(false);
        });
      },
    });
    const run = await runScenario(s, { seed: 1 });
    const f = run.result.failure!;
    expect(f.kind).toBe('thread-exception');
    const lines = formatFolded(f.stack!);
    expect(lines[0]).toMatch(
      new RegExp(`^check \\(${THIS_FILE.replace(/\./g, '\\.')}:\\d+:\\d+\\)$`),
    );
    expect(lines[1]).toMatch(/^<thread body> \(/);
  });

  test('capture changes neither the events nor the schedule, so a replay with stacks is the same run', async () => {
    const all = await listBuiltinScenarios();
    const scenarios = all.flatMap((b) => ('scenario' in b ? [b.scenario] : []));
    const picked = scenarios.filter((s) =>
      [
        'mutex-abba',
        'npu-alloc-in-run-job',
        'vfio-flr-revoke',
        'irq-unsafe-lock',
        'ww-backoff',
      ].includes(s.name),
    );
    expect(picked.length).toBe(5);
    for (const scenario of picked) {
      const plain = await runScenario(scenario, { seed: 3, trace: true });
      const replayed = await runScenario(scenario, {
        seed: 3,
        trace: true,
        captureStacks: true,
        chooser: new ReplayChooser(plain.result.schedule),
      });
      expect(eventStreamHash(replayed.events!), scenario.name).toBe(eventStreamHash(plain.events!));
      expect(replayed.result.splats.map((x) => x.rule)).toEqual(
        plain.result.splats.map((x) => x.rule),
      );
    }
  });

  test('allocation fault injection replays with stacks on (injection sites do not depend on capture)', async () => {
    const s = defineScenario({
      name: 'alloc-faults',
      description: 'allocations with injected failures',
      expect: { verdict: 'clean' },
      kernel: { faults: { alloc: 0.5 } },
      setup(k, ctx) {
        k.kthreadRun('t', async () => {
          let failed = 0;
          for (let i = 0; i < 8; i++) {
            if (kmalloc(k, 64, GFP_KERNEL) === null) failed++;
            await k.schedulePoint('yield');
          }
          ctx.note(`${failed} failed`);
        });
      },
    });
    const plain = await runScenario(s, { seed: 5, trace: true });
    expect(
      plain.result.schedule.decisions,
      JSON.stringify([plain.notes, plain.result.failure]),
    ).toContainEqual(expect.objectContaining({ kind: 'alloc' }));
    const again = await runScenario(s, {
      seed: 5,
      trace: true,
      captureStacks: true,
      chooser: new ReplayChooser(plain.result.schedule),
    });
    expect(again.result.failure).toBeNull();
    expect(again.notes).toEqual(plain.notes);
    expect(eventStreamHash(again.events!)).toBe(eventStreamHash(plain.events!));
  });
});

describe('folding', () => {
  const cwd = process.cwd();
  const stack = [
    'Error',
    `    at captureStack (${cwd}/src/kernel/stack.ts:10:3)`,
    `    at Kernel.lockAcquire (${cwd}/src/kernel/kernel.ts:700:20)`,
    `    at Mutex.lock (${cwd}/src/kernel/mutex.ts:30:16)`,
    `    at EthosuDevice.runJob (${cwd}/src/hw/npu.ts:188:12)`,
    `    at async submit (file://${cwd}/scenarios/_npu.ts:25:7)`,
    `    at async Promise.all (index 0)`,
    `    at Thread.fn (${cwd}/scenarios/npu-x.ts:12:5)`,
    `    at Kernel.runBody (${cwd}/src/kernel/kernel.ts:226:40)`,
    '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
  ].join('\n');

  test('user frames stay, library runs fold into one line naming the driver line and the entry point', () => {
    const bt = parseStack(stack);
    const folded = foldStack(bt);
    expect(formatFolded(folded)).toEqual([
      '[4 library frames] EthosuDevice.runJob (src/hw/npu.ts:188:12)',
      'submit (scenarios/_npu.ts:25:7)',
      '<thread body> (scenarios/npu-x.ts:12:5)',
    ]);
    expect(siteOfStack(bt)).toBe('scenarios/_npu.ts:25:7');
  });

  test('a stack with no user frame keeps one line, sited at the first line outside the kernel core', () => {
    const bt = parseStack(
      stack
        .split('\n')
        .filter((l) => !l.includes('scenarios/'))
        .join('\n'),
    );
    const folded = foldStack(bt);
    expect(folded).toHaveLength(1);
    expect(formatFolded(folded)[0]).toBe(
      '[5 library frames] EthosuDevice.runJob (src/hw/npu.ts:188:12) ... Kernel.runBody (src/kernel/kernel.ts:226:40)',
    );
    expect(siteOfStack(bt)).toBe('src/hw/npu.ts:188:12');
  });
});
