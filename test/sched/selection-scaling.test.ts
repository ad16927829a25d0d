import { describe, expect, it } from 'vitest';
import { DrmMockScheduler } from '../../src/sched/index.ts';
import { runTest } from './helpers.ts';

describe('selection does not scan every entity', () => {
  it('entities blocked on dependencies leave the tree; the run queue minimum is the next runnable entity', async () => {
    await runTest(async (k) => {
      const s = new DrmMockScheduler(k, { policy: 'fifo' });
      const entities = Array.from({ length: 2000 }, () => s.entityNew());
      const gate = s.entityNew();
      const g = s.jobNew(gate);
      DrmMockScheduler.submit(g);
      for (const e of entities) {
        const j = s.jobNew(e);
        j.addDependency(g.finished.get());
        DrmMockScheduler.submit(j);
      }
      const free = s.entityNew();
      const f = s.jobNew(free);
      DrmMockScheduler.submit(f);
      // Entities blocked on `g` park outside the tree: the free entity is picked at once.
      expect(await DrmMockScheduler.waitScheduled(f, 10)).toBe(true);
      expect(s.rqFor(2).treeSize).toBe(0);
      expect(s.rqFor(2).entities.size).toBe(2002);
      s.advance(1);
      s.advance(2001);
      await DrmMockScheduler.waitFinished(f, 1000);
      for (const e of [...entities, gate, free]) await e.fini();
      await s.fini();
    }, { lockdep: false });
  });
});
