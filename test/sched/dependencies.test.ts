import { describe, expect, it } from 'vitest';
import { DmaFence, dmaFenceContextAlloc } from '../../src/fence/index.ts';
import { SpinLock } from '../../src/kernel/index.ts';
import type { Kernel } from '../../src/kernel/index.ts';
import { DmaResv, DmaResvUsage } from '../../src/resv/index.ts';
import { DRM_SCHED_FENCE_DONT_PIPELINE, DrmMockScheduler } from '../../src/sched/index.ts';
import { rules, runTest } from './helpers.ts';

const HZ = 1000;
const ops = { getDriverName: () => 'test', getTimelineName: () => 'tl' };

function swFence(k: Kernel, ctx: number, seqno: number): DmaFence {
  return new DmaFence(k, ops, new SpinLock(k, 'test-fence', { key: 'test.fence' }), ctx, seqno);
}

describe('dependencies', () => {
  it('a dependency on another scheduler waits for the fence itself', async () => {
    const { r } = await runTest(async (k) => {
      const s1 = new DrmMockScheduler(k, { name: 's1' });
      const s2 = new DrmMockScheduler(k, { name: 's2' });
      const e1 = s1.entityNew();
      const e2 = s2.entityNew();
      const a = s1.jobNew(e1);
      DrmMockScheduler.submit(a);
      const b = s2.jobNew(e2);
      expect(b.addDependency(a.finished.get())).toBe(0);
      DrmMockScheduler.submit(b);
      expect(await DrmMockScheduler.waitScheduled(a, HZ)).toBe(true);
      expect(await DrmMockScheduler.waitScheduled(b, HZ / 10)).toBe(false);
      s1.advance(1);
      expect(await DrmMockScheduler.waitScheduled(b, HZ)).toBe(true);
      s2.advance(1);
      expect(await DrmMockScheduler.waitFinished(b, HZ)).toBe(true);
      await e1.destroy();
      await e2.destroy();
      await s1.fini();
      await s2.fini();
    });
    expect(rules(r.splats)).toEqual([]);
  });

  it('a dependency on the same scheduler waits only for `scheduled` (pipelining), unless DONT_PIPELINE', async () => {
    for (const dontPipeline of [false, true]) {
      const { r } = await runTest(async (k) => {
        const s = new DrmMockScheduler(k);
        const e1 = s.entityNew();
        const e2 = s.entityNew();
        const a = s.jobNew(e1);
        DrmMockScheduler.submit(a);
        if (dontPipeline) a.finished.flags |= DRM_SCHED_FENCE_DONT_PIPELINE;
        const b = s.jobNew(e2);
        b.addDependency(a.finished.get());
        DrmMockScheduler.submit(b);
        expect(await DrmMockScheduler.waitScheduled(a, HZ)).toBe(true);
        // Pipelined: b reaches the ring while a still runs.
        expect(await DrmMockScheduler.waitScheduled(b, HZ / 10)).toBe(!dontPipeline);
        expect(s.advance(1)).toBe(1);
        expect(await DrmMockScheduler.waitScheduled(b, HZ)).toBe(true);
        s.advance(1);
        expect(await DrmMockScheduler.waitFinished(b, HZ)).toBe(true);
        await e1.destroy();
        await e2.destroy();
        await s.fini();
      });
      expect(rules(r.splats)).toEqual([]);
    }
  });

  it('dependencies are deduplicated per context, keeping the later fence', async () => {
    await runTest(async (k) => {
      const s = new DrmMockScheduler(k);
      const e = s.entityNew();
      const job = s.jobNew(e);
      const ctx = dmaFenceContextAlloc(k, 2);
      const f1 = swFence(k, ctx, 1);
      const f2 = swFence(k, ctx, 2);
      const g = swFence(k, ctx + 1, 1);
      expect(job.addDependency(f1.get())).toBe(0);
      expect(job.addDependency(f2.get())).toBe(0);
      expect(job.addDependency(f1.get())).toBe(0);
      expect(job.addDependency(g.get())).toBe(0);
      expect(job.addDependency(null)).toBe(0);
      expect(job.dependencies).toEqual([f2, g]);
      expect(job.hasDependency(f1)).toBe(false);
      expect(job.hasDependency(f2)).toBe(true);
      // The dropped duplicate's reference was consumed: only ours remains.
      expect(f1.refcount.refcount).toBe(1);
      job.cleanup();
      for (const f of [f1, f2, g]) {
        f.signal();
        f.put();
      }
      await e.destroy();
      await s.fini();
    });
  });

  it('a dependency of the same entity is ignored (its jobs are ordered anyway)', async () => {
    const { r } = await runTest(async (k) => {
      const s = new DrmMockScheduler(k);
      const e = s.entityNew();
      const a = s.jobNew(e);
      DrmMockScheduler.submit(a);
      const b = s.jobNew(e);
      b.addDependency(a.finished.get());
      DrmMockScheduler.submit(b);
      expect(await DrmMockScheduler.waitScheduled(b, HZ)).toBe(true);
      s.advance(2);
      expect(await DrmMockScheduler.waitFinished(b, HZ)).toBe(true);
      await e.destroy();
      await s.fini();
    });
    expect(rules(r.splats)).toEqual([]);
  });

  it('adding a dependency after arm WARNs once, returns -EINVAL and consumes the reference', async () => {
    let ret = 0;
    const { r } = await runTest(async (k) => {
      const s = new DrmMockScheduler(k);
      const e = s.entityNew();
      const job = s.jobNew(e);
      job.arm();
      const f = swFence(k, dmaFenceContextAlloc(k, 1), 1);
      ret = job.addDependency(f.get());
      expect(f.refcount.refcount).toBe(1);
      expect(job.addDependency(f.get())).toBe(-22);
      e.pushJob(job);
      s.advance(1);
      await DrmMockScheduler.waitFinished(job, HZ);
      f.signal();
      f.put();
      await e.destroy();
      await s.fini();
    });
    expect(ret).toBe(-22);
    expect(rules(r.splats)).toEqual(['sched.add_dependency_after_arm']);
  });

  it('resv dependencies: a writer waits for readers and writers, a reader only for writers and kernel fences', async () => {
    await runTest(async (k) => {
      const s = new DrmMockScheduler(k);
      const e = s.entityNew();
      const resv = new DmaResv(k, 'bo');
      const ctx = dmaFenceContextAlloc(k, 4);
      const fences = [swFence(k, ctx, 1), swFence(k, ctx + 1, 1), swFence(k, ctx + 2, 1), swFence(k, ctx + 3, 1)];
      await resv.lock(null);
      expect(resv.reserveFences(4)).toBe(0);
      resv.addFence(fences[0]!, DmaResvUsage.KERNEL);
      resv.addFence(fences[1]!, DmaResvUsage.WRITE);
      resv.addFence(fences[2]!, DmaResvUsage.READ);
      resv.addFence(fences[3]!, DmaResvUsage.BOOKKEEP);
      const writer = s.jobNew(e);
      expect(writer.addImplicitDependencies({ resv }, true)).toBe(0);
      const reader = s.jobNew(e);
      expect(reader.addImplicitDependencies({ resv }, false)).toBe(0);
      const all = s.jobNew(e);
      expect(all.addResvDependencies(resv, DmaResvUsage.BOOKKEEP)).toBe(0);
      resv.unlock();
      expect(writer.dependencies).toEqual(fences.slice(0, 3));
      expect(reader.dependencies).toEqual(fences.slice(0, 2));
      expect(all.dependencies).toEqual(fences);
      for (const j of [writer, reader, all]) j.cleanup();
      for (const f of fences) {
        f.signal();
        f.put();
      }
      resv.fini();
      await e.destroy();
      await s.fini();
    });
  });

  it('adding resv dependencies without the resv lock is reported', async () => {
    const { r } = await runTest(async (k) => {
      const s = new DrmMockScheduler(k);
      const e = s.entityNew();
      const resv = new DmaResv(k, 'bo');
      const job = s.jobNew(e);
      job.addResvDependencies(resv, DmaResvUsage.READ);
      job.cleanup();
      resv.fini();
      await e.destroy();
      await s.fini();
    });
    expect(rules(r.splats)).toContain('resv.not_locked');
  });

  it('prepare_job is polled after the stored dependencies until it returns null', async () => {
    await runTest(async (k) => {
      const s = new DrmMockScheduler(k);
      const extra = [swFence(k, dmaFenceContextAlloc(k, 1), 1), swFence(k, dmaFenceContextAlloc(k, 1), 1)];
      let calls = 0;
      (s.ops as { prepareJob?: unknown }).prepareJob = () => {
        calls++;
        const f = extra[calls - 1];
        return f ? f.get() : null;
      };
      const e = s.entityNew();
      const job = s.jobNew(e);
      DrmMockScheduler.submit(job);
      expect(await DrmMockScheduler.waitScheduled(job, HZ / 10)).toBe(false);
      extra[0]!.signal();
      expect(await DrmMockScheduler.waitScheduled(job, HZ / 10)).toBe(false);
      extra[1]!.signal();
      expect(await DrmMockScheduler.waitScheduled(job, HZ)).toBe(true);
      expect(calls).toBe(3);
      s.advance(1);
      await DrmMockScheduler.waitFinished(job, HZ);
      for (const f of extra) f.put();
      await e.destroy();
      await s.fini();
    });
  });
});
