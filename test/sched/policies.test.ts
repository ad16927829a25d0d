import { describe, expect, it } from 'vitest';
import { DrmMockScheduler, DrmSchedEntity, DrmSchedPriority } from '../../src/sched/index.ts';
import type { DrmMockSchedJob, DrmSchedPolicy } from '../../src/sched/index.ts';
import { runTest } from './helpers.ts';

const HZ = 1000;

/** Run order of jobs from entities A and B (each pushing `n` jobs up front) at credit limit 1. */
async function runOrder(policy: DrmSchedPolicy, prios: [DrmSchedPriority, DrmSchedPriority], n: number): Promise<string> {
  let order = '';
  await runTest(async (k) => {
    const s = new DrmMockScheduler(k, { creditLimit: 1, policy });
    const inner = s.ops.runJob.bind(s.ops);
    const names = new Map<DrmSchedEntity, string>();
    (s.ops as { runJob: unknown }).runJob = (job: DrmMockSchedJob) => {
      order += names.get(entityOf.get(job)!)!;
      return inner(job);
    };
    const entityOf = new Map<DrmMockSchedJob, DrmSchedEntity>();
    const a = s.entityNew(prios[0]);
    const b = s.entityNew(prios[1]);
    names.set(a, 'a');
    names.set(b, 'b');
    const jobs: DrmMockSchedJob[] = [];
    for (const e of [a, b]) {
      for (let i = 0; i < n; i++) {
        const j = s.jobNew(e, 1000);
        entityOf.set(j, e);
        DrmMockScheduler.submit(j);
        jobs.push(j);
      }
    }
    for (const j of jobs) await DrmMockScheduler.waitFinished(j, 10 * HZ);
    await a.destroy();
    await b.destroy();
    await s.fini();
  }, { lockdep: false });
  return order;
}

describe('entity selection policies', () => {
  it('FIFO runs jobs in push order across entities', async () => {
    expect(await runOrder('fifo', [2, 2], 3)).toBe('aaabbb');
  });

  it('round-robin alternates between ready entities', async () => {
    expect(await runOrder('rr', [2, 2], 3)).toBe('ababab');
  });

  it('FIFO/RR priorities are strict: a KERNEL entity drains before a LOW one', async () => {
    expect(await runOrder('fifo', [3, 0], 4)).toBe('bbbbaaaa');
    expect(await runOrder('rr', [3, 0], 4)).toBe('bbbbaaaa');
  });

  it('fair: equal entities share the engine (vruntime advances with freed GPU time)', async () => {
    const o = await runOrder('fair', [2, 2], 6);
    expect(o.length).toBe(12);
    // Neither entity runs all its jobs back to back.
    expect(o).not.toMatch(/a{4}|b{4}/);
  });

  it('fair: a LOW entity is not starved by a HIGH one, but gets a much smaller share', async () => {
    const o = await runOrder('fair', [3, 1], 40);
    const lastHigh = o.lastIndexOf('b');
    const lowBefore = o.slice(0, lastHigh).split('a').length - 1;
    expect(lowBefore).toBeGreaterThan(0);
    expect(lowBefore).toBeLessThan(20);
  });
});

describe('load balancing', () => {
  it('arm picks the ready scheduler with the lowest score; the entity then stays while busy', async () => {
    await runTest(async (k) => {
      const s1 = new DrmMockScheduler(k, { name: 's1' });
      const s2 = new DrmMockScheduler(k, { name: 's2' });
      // Load s1: an entity with two queued jobs.
      const busy = s1.entityNew();
      const jobs = [s1.jobNew(busy), s1.jobNew(busy)];
      for (const j of jobs) DrmMockScheduler.submit(j);
      expect(s1.score.value).toBeGreaterThan(s2.score.value);
      const e = new DrmSchedEntity(k);
      expect(e.init(2, [s1, s2])).toBe(0);
      const x = s1.jobNew(e);
      x.arm();
      expect(x.sched).toBe(s2);
      e.pushJob(x);
      // Queue non-empty / last job unfinished: the next job stays on s2.
      const y = s1.jobNew(e);
      y.arm();
      expect(y.sched).toBe(s2);
      e.pushJob(y);
      s2.advance(2);
      s1.advance(2);
      await DrmMockScheduler.waitFinished(y, HZ);
      await e.destroy();
      await busy.destroy();
      await s1.fini();
      await s2.fini();
    });
  });

  it('a scheduler that is not ready is skipped', async () => {
    await runTest(async (k) => {
      const s1 = new DrmMockScheduler(k, { name: 's1' });
      const s2 = new DrmMockScheduler(k, { name: 's2' });
      s1.ready = false;
      const e = new DrmSchedEntity(k);
      e.init(2, [s1, s2]);
      const x = s2.jobNew(e);
      x.arm();
      expect(x.sched).toBe(s2);
      e.pushJob(x);
      s2.advance(1);
      await DrmMockScheduler.waitFinished(x, HZ);
      await e.destroy();
      s1.ready = true;
      await s1.fini();
      await s2.fini();
    });
  });
});
