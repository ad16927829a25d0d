import { describe, expect, it } from 'vitest';
import type { DmaFence } from '../../src/fence/index.ts';
import { GFP_ATOMIC, GFP_KERNEL, kmalloc } from '../../src/kernel/index.ts';
import { DrmMockScheduler } from '../../src/sched/index.ts';
import type { DrmMockSchedJob } from '../../src/sched/index.ts';
import { rules, runTest } from './helpers.ts';

const HZ = 1000;

async function allocInRunJob(opts: { reclaimTaint: boolean; signallingAnnotations: boolean; gfp: number }) {
  return runTest(async (k) => {
    const s = new DrmMockScheduler(k, { reclaimTaint: opts.reclaimTaint, signallingAnnotations: opts.signallingAnnotations });
    const inner = s.ops.runJob.bind(s.ops);
    (s.ops as { runJob: unknown }).runJob = (job: DrmMockSchedJob) => {
      kmalloc(k, 64, opts.gfp, 'run_job_alloc');
      return inner(job);
    };
    const e = s.entityNew();
    const j = s.jobNew(e);
    DrmMockScheduler.submit(j);
    s.advance(1);
    await DrmMockScheduler.waitFinished(j, HZ);
    await e.destroy();
    await s.fini();
  });
}

describe('the fence signalling rules of driver callbacks', () => {
  it('GFP_KERNEL in run_job: caught by the reclaim taint of the submit queue alone (Brost RFC)', async () => {
    const { r } = await allocInRunJob({ reclaimTaint: true, signallingAnnotations: false, gfp: GFP_KERNEL });
    const s = r.splats.find((x) => x.rule === 'lockdep.circular');
    expect(s?.body).toContain('drm_sched_lockdep_map');
    expect(s?.body).toContain('fs_reclaim');
  });

  it('GFP_KERNEL in run_job: caught by the signalling annotation alone (through dma_fence_map)', async () => {
    const { r } = await allocInRunJob({ reclaimTaint: false, signallingAnnotations: true, gfp: GFP_KERNEL });
    const s = r.splats.find((x) => x.rule === 'lockdep.circular');
    expect(s?.body).toContain('dma_fence_map');
  });

  it('with both checks off the mainline kernel does not see it; GFP_ATOMIC is always fine', async () => {
    expect(rules((await allocInRunJob({ reclaimTaint: false, signallingAnnotations: false, gfp: GFP_KERNEL })).r.splats)).toEqual([]);
    expect(rules((await allocInRunJob({ reclaimTaint: true, signallingAnnotations: true, gfp: GFP_ATOMIC })).r.splats)).toEqual([]);
  });

  it('a deadline set on the finished fence is remembered and forwarded to the hardware fence', async () => {
    const seen: number[] = [];
    await runTest(async (k) => {
      const s = new DrmMockScheduler(k);
      const e = s.entityNew();
      const j = s.jobNew(e);
      const inner = s.ops.runJob.bind(s.ops);
      (s.ops as { runJob: unknown }).runJob = (job: DrmMockSchedJob) => {
        const f = inner(job) as DmaFence;
        f.ops = {
          ...f.ops,
          setDeadline: (_f: DmaFence, ns: number) => {
            seen.push(ns);
          },
        };
        return f;
      };
      j.arm();
      j.finished.setDeadline(5_000_000);
      j.finished.setDeadline(9_000_000); // later: ignored
      e.pushJob(j);
      await DrmMockScheduler.waitScheduled(j, HZ);
      j.finished.setDeadline(1_000_000);
      s.advance(1);
      await DrmMockScheduler.waitFinished(j, HZ);
      await e.destroy();
      await s.fini();
    });
    expect(seen).toEqual([5_000_000, 1_000_000]);
  });
});
