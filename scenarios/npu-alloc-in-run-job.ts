/**
 * The Ethos-U v5 submit path (Oct 2025) as Matthew Brost reviewed it:
 * `run_job` allocates the hardware fence with GFP_KERNEL. run_job is in the
 * fence signalling path — reclaim may wait on the very fence this job must
 * signal (shrinkers and MMU notifiers wait on fences), and the ordered
 * submit queue is blocked meanwhile — so lockdep closes a cycle from
 * `dma_fence_map` through `fs_reclaim` (the latter's order recorded at boot
 * by the dma_resv priming; the scheduler's submit queue is also tainted with
 * reclaim, as Brost's RFC proposes).
 *
 * Expectation: `lockdep.circular` (through fs_reclaim and dma_fence_map).
 */
import { defineScenario } from '../src/scenario/index.ts';
import type { DmaFence } from '../src/fence/index.ts';
import { EthosuDevice } from '../src/hw/index.ts';
import type { NpuJob } from '../src/hw/index.ts';
import { Errno, GFP_KERNEL, kzalloc } from '../src/kernel/index.ts';
import { NPU_IRQ, npuScenario } from './_npu.ts';

/** The v5 driver: no done-fence storage at submit; run_job allocates it. */
class EthosuV5 extends EthosuDevice {
  override allocDoneFence(): number {
    return 0;
  }

  override async runJob(job: NpuJob): Promise<DmaFence | null | number> {
    if (job.finished.error) return null;
    // BUG: GFP_KERNEL may enter reclaim, and reclaim may wait on this job's fence.
    if (!kzalloc(this.kernel, 64, GFP_KERNEL, 'ethosu_fence_alloc')) return -Errno.ENOMEM;
    job.fenceStorage = true;
    return this.startJob(job);
  }
}

export default defineScenario({
  name: 'npu-alloc-in-run-job',
  description: 'the NPU allocates its hardware fence with GFP_KERNEL in run_job: a reclaim deadlock through fs_reclaim and dma_fence_map',
  expect: { verdict: 'splat', rules: ['lockdep.circular'] },
  setup(k, ctx) {
    npuScenario(k, ctx, new EthosuV5(k, { irq: NPU_IRQ }));
  },
});
