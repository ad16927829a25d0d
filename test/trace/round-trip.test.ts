/**
 * The model speaks the kernel's trace format: for every built-in scenario,
 * `trace-check` on the run's own `--ftrace` text finds exactly the rule
 * book's violations the run reported (none for the clean ones); and so do
 * runs that break the event rules on purpose.
 */
import { describe, expect, it } from 'vitest';
import { builtinScenarioFiles } from '../../scenarios/index.ts';
import { loadScenario, runScenario } from '../../src/explore/index.ts';
import { DmaFence, DmaFenceCb } from '../../src/fence/index.ts';
import type { DmaFenceOps } from '../../src/fence/index.ts';
import { Kernel, SpinLock } from '../../src/kernel/index.ts';
import type { KernelEvent, Splat } from '../../src/kernel/index.ts';
import { checkTraceText, toFtraceText } from '../../src/trace/index.ts';

/** Rules judged from events alone: the rule book both sides run. */
const EVENT_RULES = new Set([
  'fence.context_out_of_order',
  'fence.seqno_not_after_signalled',
  'fence.signalled_twice',
  'fence.signalled_after_destroy',
  'fence.released_with_pending_signals',
  'fence.wait_unfinished',
  'fence.wait_slow',
  'sched.job_out_of_order',
  'sched.run_before_dependency',
]);

function eventRules(splats: readonly Splat[]): string[] {
  return splats
    .filter((s) => EVENT_RULES.has(s.rule))
    .map((s) => `${s.rule} ${JSON.stringify(s.data?.context ?? s.data?.fence ?? '')}`)
    .sort();
}

function roundTrip(events: readonly KernelEvent[]): { text: string; rules: string[] } {
  const text = toFtraceText(events);
  const r = checkTraceText(text);
  expect(r.malformed).toEqual([]);
  return { text, rules: eventRules(r.findings) };
}

describe("trace-check on the model's own --ftrace output", () => {
  const names = builtinScenarioFiles().map((f) => f.name);

  it.each(names)('%s: the same rule-book findings as the run', async (name) => {
    const { scenario } = await loadScenario(name);
    const run = await runScenario(scenario, { seed: 1, trace: true });
    const { text, rules } = roundTrip(run.events!);
    expect(rules).toEqual(eventRules(run.result.splats));
    // Every fence and scheduler event of the run is a line of the text.
    const kernelEvents = run.events!.filter((e) =>
      /^(fence-(init|signal|enable-signal|wait-start|wait-end|destroy)|sched-job-(queue|run|done|add-dep|unschedulable))$/.test(
        e.type,
      ),
    ).length;
    expect(text.split('\n').filter((l) => l && !l.startsWith('#'))).toHaveLength(kernelEvents);
  });

  it('a ring signalled out of order, a fence released with callbacks queued: found in the run and in its trace alike', async () => {
    const ring: DmaFenceOps = {
      getDriverName: () => 'ring',
      getTimelineName: () => 'rcs0',
      inOrder: true,
    };
    const k = new Kernel({ seed: 1 });
    const events: KernelEvent[] = [];
    k.events.on((e) => {
      events.push(e);
    });
    k.kthreadRun('driver', () => {
      const lock = new SpinLock(k, 'ring');
      const f = [1, 2, 3].map((s) => new DmaFence(k, ring, lock, 7, s));
      f[0]!.signal();
      f[2]!.signal();
      f[1]!.signal();
      const g = new DmaFence(k, ring, lock, 8, 1);
      g.addCallback(new DmaFenceCb(), () => {});
      g.put();
      for (const x of f) x.put();
    });
    const r = await k.run();
    const model = eventRules(r.splats);
    expect(model).toEqual([
      'fence.context_out_of_order 7',
      'fence.released_with_pending_signals 8',
    ]);
    expect(roundTrip(events).rules).toEqual(model);
  });
});
