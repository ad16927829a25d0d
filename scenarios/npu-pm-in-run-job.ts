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
import type { DmaFence } from '../src/fence/index.ts';
import { EthosuDevice } from '../src/hw/index.ts';
import type { NpuJob } from '../src/hw/index.ts';
import { NPU_IRQ, npuScenario } from './_npu.ts';

/** The v5 driver: no PM reference at submit; run_job resumes the device, the IRQ thread drops it. */
class EthosuV5 extends EthosuDevice {
  override pmGetForJob(): Promise<number> {
    return Promise.resolve(0);
  }

  override async runJob(job: NpuJob): Promise<DmaFence | null | number> {
    if (job.finished.error) return null;
    // BUG: resume takes hw_lock and allocates, inside the fence signalling path.
    const r = await this.pm.getSync();
    if (r < 0) return r;
    return super.runJob(job);
  }

  override jobDone(): void {
    this.pm.putAutosuspend();
  }
}

export default defineScenario({
  name: 'npu-pm-in-run-job',
  description: 'the NPU resumes the device (pm_runtime_get_sync, whose resume allocates) in run_job: a reclaim cycle through fs_reclaim',
  expect: { verdict: 'splat', rules: ['lockdep.circular'] },
  setup(k, ctx) {
    npuScenario(k, ctx, new EthosuV5(k, { irq: NPU_IRQ }));
  },
});
