import { describe, expect, it } from 'vitest';
import { createCheckedKernel } from '../../src/check/index.ts';
import { ReplayChooser, usleepRange } from '../../src/kernel/index.ts';
import type { Chooser, KernelEvent } from '../../src/kernel/index.ts';
import { DrmMockScheduler } from '../../src/sched/index.ts';
import type { DrmMockSchedJob } from '../../src/sched/index.ts';

/** Three submitters on two schedulers with cross dependencies and a timeout. */
async function workload(seed: number, chooser?: Chooser) {
  const k = createCheckedKernel({ seed, ...(chooser ? { chooser } : {}) });
  const events: string[] = [];
  k.events.on((e: KernelEvent) => events.push(JSON.stringify(e)));
  const s1 = new DrmMockScheduler(k, { name: 's1', creditLimit: 2, timeout: 50 });
  const s2 = new DrmMockScheduler(k, { name: 's2', creditLimit: 3 });
  let prev: DrmMockSchedJob | null = null;
  for (let t = 0; t < 3; t++) {
    k.kthreadRun(`submitter${t}`, async () => {
      const s = t % 2 ? s2 : s1;
      const e = s.entityNew();
      const jobs: DrmMockSchedJob[] = [];
      for (let i = 0; i < 6; i++) {
        const j = s.jobNew(e, 100 + 50 * i);
        if (prev && i % 2) j.addDependency(prev.finished.get());
        DrmMockScheduler.submit(j);
        prev = j;
        jobs.push(j);
        await usleepRange(k, 10, 20);
      }
      for (const j of jobs) await DrmMockScheduler.waitFinished(j, 1000);
      await e.destroy();
    });
  }
  const r = await k.run();
  return { r, events };
}

describe('determinism of a scheduler workload', () => {
  it('the same seed gives the same event stream; a replay of the schedule reproduces it', async () => {
    const a = await workload(42);
    const b = await workload(42);
    expect(a.r.failure).toBeNull();
    expect(b.events).toEqual(a.events);
    expect(a.events.length).toBeGreaterThan(500);
    const c = await workload(42, new ReplayChooser(a.r.schedule));
    expect(c.events).toEqual(a.events);
    expect(a.r.schedule.decisions.length).toBeGreaterThan(10);
  });

  it('different seeds explore different interleavings', async () => {
    const a = await workload(1);
    const b = await workload(2);
    expect(a.r.schedule.decisions).not.toEqual(b.r.schedule.decisions);
  });
});
