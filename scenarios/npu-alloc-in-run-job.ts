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
import { npuScenario } from './_npu.ts';

export default defineScenario({
  name: 'npu-alloc-in-run-job',
  description: 'the NPU allocates its hardware fence with GFP_KERNEL in run_job: a reclaim deadlock through fs_reclaim and dma_fence_map',
  expect: { verdict: 'splat', rules: ['lockdep.circular'] },
  setup(k, ctx) {
    npuScenario(k, ctx, { allocInRunJob: true });
  },
});
