/**
 * The Ethos-U v5 runtime-PM handling: `run_job` calls
 * `pm_runtime_get_sync`, and the device's resume callback takes a lock and
 * allocates (saving register state). Resuming inside the fence signalling
 * path makes the fence depend on memory reclaim, which may wait on fences:
 * lockdep reports a cycle through `fs_reclaim`. The fix (v6) takes the PM
 * reference at submit and drops it when the job is freed.
 *
 * Expectation: `lockdep.circular` (through fs_reclaim).
 */
import { defineScenario } from '../src/scenario/index.ts';
import { npuScenario } from './_npu.ts';

export default defineScenario({
  name: 'npu-pm-in-run-job',
  description: 'the NPU resumes the device (pm_runtime_get_sync, whose resume allocates) in run_job: a reclaim cycle through fs_reclaim',
  expect: { verdict: 'splat', rules: ['lockdep.circular'] },
  setup(k, ctx) {
    npuScenario(k, ctx, { pmInRunJob: true });
  },
});
