/**
 * The Ethos-U NPU driver as merged (v6, Oct 2025): everything that allocates
 * or may sleep on memory — the job and its done-fence storage, fence slots
 * and implicit dependencies, the runtime-PM resume — happens at submit,
 * before `drm_sched_job_arm`; `run_job` only initialises the preallocated
 * fence and programs the hardware; the PM reference lives as long as the job.
 *
 * Expectation: clean.
 */
import { defineScenario } from '../src/scenario/index.ts';
import { npuScenario } from './_npu.ts';

export default defineScenario({
  name: 'npu-submit',
  description: 'NPU jobs through drm_sched; allocations and runtime PM at submit, run_job only initialises a preallocated fence',
  expect: { verdict: 'clean' },
  setup(k, ctx) {
    npuScenario(k, ctx);
  },
});
