import { describe, expect, test } from 'vitest';
import { listBuiltinScenarios, loadScenario, runScenario } from '../../src/explore/index.ts';
import type { KernelEvent } from '../../src/kernel/index.ts';
import {
  chromeTraceJson,
  eventStreamHash,
  KERNEL_TID,
  toChromeTrace,
} from '../../src/trace/index.ts';
import type { ChromeTrace } from '../../src/trace/index.ts';
import { traceProblems } from './validate-trace.ts';

async function deadlockRun() {
  const { scenario } = await loadScenario('mutex-abba');
  for (let seed = 1; seed < 50; seed++) {
    const run = await runScenario(scenario, { seed, trace: true });
    if (run.result.end === 'deadlock') return run;
  }
  throw new Error('no seed deadlocked');
}

function names(t: ChromeTrace): Map<number, string> {
  return new Map(
    t.traceEvents
      .filter((e) => e.ph === 'M' && e.name === 'thread_name')
      .map((e) => [e.tid, String(e.args!.name)]),
  );
}

describe('Chrome trace of a run', () => {
  test('is well formed for Perfetto: named tracks, nested slices, matched holds and flows', async () => {
    const run = await deadlockRun();
    const trace = toChromeTrace(run.events!, { splats: run.result.splats, title: 'mutex-abba' });
    expect(traceProblems(trace)).toEqual([]);
    expect(trace.displayTimeUnit).toBe('ns');
    const tracks = [...names(trace).values()];
    expect(tracks).toEqual(expect.arrayContaining(['thread_ab', 'thread_ba']));
    expect(names(trace).get(KERNEL_TID)).toMatch(/kernel/);
  });

  test('has a track per thread with its run and blocked slices', async () => {
    const run = await deadlockRun();
    const trace = toChromeTrace(run.events!);
    const byName = new Map([...names(trace)].map(([tid, n]) => [n, tid]));
    const ab = trace.traceEvents.filter((e) => e.tid === byName.get('thread_ab') && e.ph === 'X');
    expect(ab.some((e) => e.cat === 'run')).toBe(true);
    expect(ab.some((e) => e.cat === 'blocked' && e.name === 'blocked in mutex_lock')).toBe(true);
  });

  test('shows lock holds as async intervals and the splats as global instants with their bodies', async () => {
    const run = await deadlockRun();
    const trace = toChromeTrace(run.events!, { splats: run.result.splats });
    const holds = trace.traceEvents
      .filter((e) => e.ph === 'b' && e.cat === 'lock')
      .map((e) => e.name);
    expect(holds).toEqual(expect.arrayContaining(['lock_a', 'lock_b']));
    const splat = trace.traceEvents.find(
      (e) => e.ph === 'i' && e.cat === 'splat' && e.args?.rule === 'sched.deadlock',
    );
    expect(splat?.s).toBe('g');
    expect(String(splat?.args?.body)).toContain('thread_ab');
  });

  test("a splat's backtraces go into its instant when the run captured them", async () => {
    const { scenario } = await loadScenario('mutex-abba');
    const run = await runScenario(scenario, { seed: 2, trace: true, captureStacks: true });
    const trace = toChromeTrace(run.events!, { splats: run.result.splats });
    const splat = trace.traceEvents.find(
      (e) => e.cat === 'splat' && e.args?.rule === 'lockdep.circular',
    )!;
    expect(String(splat.args!.backtraces)).toMatch(
      /^acquiring lock_b \(thread_ab, step 6\):\n .*\n {2}<thread body> \(scenarios\/mutex-abba\.ts:25:15\)/,
    );
  });

  test('links a wake-up to the woken thread with a flow named after its cause', async () => {
    const run = await deadlockRun();
    const trace = toChromeTrace(run.events!);
    const wakes = trace.traceEvents.filter((e) => e.cat === 'sched' && e.name.startsWith('wake '));
    expect(wakes.length).toBeGreaterThan(0);
    for (const w of wakes) {
      // the flow leaves the waker 1 ns after the wake-up and is named by what woke it (here the msleep timer)
      const s = trace.traceEvents.find(
        (e) =>
          e.ph === 's' && e.tid === w.tid && e.ts === Math.round((w.ts! + 0.001) * 1000) / 1000,
      );
      expect(s?.name).toBe(String(w.args!.by));
      expect(trace.traceEvents.some((e) => e.ph === 'f' && e.id === s!.id)).toBe(true);
    }
    expect(wakes.map((w) => w.args!.by)).toContain('timeout');
  });

  test('maps virtual time to microseconds and keeps the exact value in args', async () => {
    const run = await deadlockRun();
    const pure = toChromeTrace(run.events!, { spacingNs: 0 });
    const late = pure.traceEvents.find((e) => e.args?.vt_ns === 2_000_000);
    expect(late?.ts).toBe(2000);
    const spaced = toChromeTrace(run.events!);
    const ts = spaced.traceEvents.filter((e) => e.ph === 'X' && e.cat === 'run').map((e) => e.ts!);
    expect(new Set(ts).size).toBe(ts.length);
  });

  test('shows event types it does not know as instants, with flows between flowOut and flowIn', () => {
    const base = { step: 1, tid: 1 };
    const events = [
      {
        type: 'thread-spawn',
        tNs: 0,
        step: 0,
        tid: 0,
        thread: 'a',
        context: 'process',
        parent: null,
      },
      { type: 'switch', tNs: 0, step: 1, tid: 1, from: null, to: 'a', op: 'start' },
      { type: 'fence-signal', tNs: 10, ...base, context: 3, seqno: 1, flowOut: 'f3:1' },
      { type: 'fence-callback', tNs: 10, ...base, fence: 'x', flowIn: 'f3:1' },
      { type: 'run-end', tNs: 20, step: 2, tid: 0, steps: 2, reason: 'completed' },
    ] as unknown as KernelEvent[];
    const trace = toChromeTrace(events);
    expect(traceProblems(trace)).toEqual([]);
    const inst = trace.traceEvents.find((e) => e.cat === 'fence' && e.ph === 'i');
    expect(inst?.args?.seqno).toBe(1);
    expect(
      trace.traceEvents.filter(
        (e) => e.name === 'fence-callback' && (e.ph === 's' || e.ph === 'f'),
      ),
    ).toHaveLength(2);
  });

  test('serializes to JSON that parses back to the same trace', async () => {
    const run = await deadlockRun();
    const trace = toChromeTrace(run.events!, {
      splats: run.result.splats,
      metadata: { seed: run.seed },
    });
    expect(JSON.parse(chromeTraceJson(trace))).toEqual(trace);
  });

  test('same seed gives the same event hash', async () => {
    const a = await deadlockRun();
    const b = await deadlockRun();
    expect(eventStreamHash(a.events!)).toBe(eventStreamHash(b.events!));
  });
});

describe("traces of other layers' events", () => {
  test('scheduler jobs, work items and fence waits become intervals; a signal links to callbacks and woken waiters', () => {
    const at = (tNs: number, tid: number, type: string, p: Record<string, unknown>) => ({
      type,
      tNs,
      step: 1,
      tid,
      ...p,
    });
    const events = [
      at(0, 0, 'thread-spawn', { thread: 'waiter', context: 'process', parent: null }),
      at(0, 0, 'thread-spawn', { thread: 'hw', context: 'hardirq', parent: null }),
      at(0, 1, 'switch', { from: null, to: 'waiter', op: 'start' }),
      at(0, 1, 'sched-job-queue', { sched: 'ring0', entity: 'e', job: 7, fence: 'f' }),
      at(0, 1, 'sched-job-run', { sched: 'ring0', job: 7, fence: 'f', credits: 1 }),
      at(0, 1, 'fence-init', { fence: 5, context: 1, seqno: 1, driver: 'drv', timeline: 'tl' }),
      at(0, 1, 'fence-wait-start', {
        fence: 5,
        context: 1,
        seqno: 1,
        thread: 'waiter',
        timeout: null,
      }),
      at(0, 1, 'block', { thread: 'waiter', op: 'dma_fence_wait', on: 'fence 1:1' }),
      at(5, 2, 'switch', { from: null, to: 'hw', op: 'start' }),
      at(5, 2, 'fence-signal', {
        fence: 5,
        context: 1,
        seqno: 1,
        error: 0,
        timestampNs: 5,
        callbacks: 1,
      }),
      at(5, 2, 'fence-callback', { fence: 5, context: 1, seqno: 1, index: 0 }),
      at(5, 2, 'sched-job-done', { sched: 'ring0', job: 7, fence: 'f', result: 0 }),
      at(5, 2, 'wake', { thread: 'waiter', reason: 'woken' }),
      at(5, 2, 'thread-exit', { thread: 'hw', code: 0 }),
      at(5, 1, 'switch', { from: null, to: 'waiter', op: 'dma_fence_wait' }),
      at(5, 1, 'fence-wait-end', {
        fence: 5,
        context: 1,
        seqno: 1,
        thread: 'waiter',
        result: null,
      }),
      at(5, 1, 'thread-exit', { thread: 'waiter', code: 0 }),
      at(5, 0, 'run-end', { steps: 3, reason: 'completed' }),
    ] as unknown as KernelEvent[];
    const trace = toChromeTrace(events);
    expect(traceProblems(trace)).toEqual([]);
    const spans = trace.traceEvents.filter((e) => e.ph === 'b').map((e) => `${e.cat}:${e.name}`);
    expect(spans).toEqual([
      'sched-job-queue:sched ring0 queued',
      'sched-job-run:sched ring0',
      'fence:fences: context 1 (drv tl)',
      'fence-wait-start:fence wait',
    ]);
    const flows = trace.traceEvents.filter((e) => e.ph === 's').map((e) => e.name);
    expect(flows.filter((n) => n === 'signal')).toHaveLength(2);
    expect(flows).toContain('job');
    // the wake-up is named after the signal that caused it
    expect(flows).toContain('signal 1:1');
  });

  test('every built-in scenario gives a well-formed trace, also when a limit cuts the run short', async () => {
    for (const b of await listBuiltinScenarios()) {
      if (!('scenario' in b)) continue;
      for (const maxSteps of [40, 2000]) {
        const run = await runScenario(b.scenario, { trace: true, limits: { maxSteps } });
        const trace = toChromeTrace(run.events!, { splats: run.result.splats });
        expect({ scenario: b.scenario.name, maxSteps, problems: traceProblems(trace) }).toEqual({
          scenario: b.scenario.name,
          maxSteps,
          problems: [],
        });
      }
    }
  }, 60_000);
});

describe('the trace validator used above', () => {
  test('rejects overlapping slices, unmatched holds and dangling flows', () => {
    const m = (tid: number) => ({
      name: 'thread_name',
      ph: 'M' as const,
      pid: 1,
      tid,
      args: { name: `t${tid}` },
    });
    const bad: ChromeTrace = {
      displayTimeUnit: 'ns',
      otherData: {},
      traceEvents: [
        { name: 'process_name', ph: 'M', pid: 1, tid: 2, args: { name: 'p' } },
        m(2),
        { name: 'a', ph: 'X', pid: 1, tid: 2, ts: 0, dur: 2 },
        { name: 'b', ph: 'X', pid: 1, tid: 2, ts: 1, dur: 2 },
        { name: 'L', ph: 'b', cat: 'lock', id: 1, pid: 1, tid: 2, ts: 0 },
        { name: 'w', ph: 's', cat: 'flow', id: 9, pid: 1, tid: 2, ts: 0.5 },
      ],
    };
    const p = traceProblems(bad).join('\n');
    expect(p).toMatch(/overlaps/);
    expect(p).toMatch(/never ended/);
    expect(p).toMatch(/missing its f/);
  });
});

describe('the Perfetto tracks a driver developer looks for', () => {
  test('a track per fence context with one slice per fence from init to signal, and queued and running job slices', async () => {
    const { scenario } = await loadScenario('npu-submit');
    const run = await runScenario(scenario, { trace: true });
    const trace = toChromeTrace(run.events!);
    expect(traceProblems(trace)).toEqual([]);
    const fences = trace.traceEvents.filter((e) => e.ph === 'b' && e.cat === 'fence');
    const contexts = new Set(fences.map((e) => e.name));
    expect(contexts.size).toBeGreaterThanOrEqual(2);
    for (const c of contexts) expect(c).toMatch(/^fences: context \d+ \(.+\)$/);
    // every fence slice ends (at its signal) and names its seqno
    for (const b of fences) {
      expect(typeof b.args!.seqno).toBe('number');
      expect(
        trace.traceEvents.some((e) => e.ph === 'e' && e.cat === 'fence' && e.id === b.id),
      ).toBe(true);
    }
    const jobs = trace.traceEvents.filter((e) => e.ph === 'b' && e.cat?.startsWith('sched-job'));
    expect(new Set(jobs.map((e) => e.cat))).toEqual(new Set(['sched-job-queue', 'sched-job-run']));
    // a thread woken by a fence signal gets a flow named after the signal
    const flows = trace.traceEvents.filter((e) => e.ph === 's').map((e) => e.name);
    expect(flows.some((n) => /^signal \d+:\d+$/.test(n))).toBe(true);
  });

  test('revocation and move_notify are process-wide instants, one per FLR step', async () => {
    const { scenario } = await loadScenario('vfio-flr-revoke');
    const run = await runScenario(scenario, { trace: true });
    const trace = toChromeTrace(run.events!);
    const global = trace.traceEvents.filter((e) => e.ph === 'i' && e.s === 'p').map((e) => e.name);
    expect(global).toContain('revoke dma-buf 1');
    expect(global).toContain('restore dma-buf 1');
    expect(global).toContain('move_notify dma-buf 1 (3 attachment(s), revoked)');
  });
});
