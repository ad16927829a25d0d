/**
 * Shared body of the npu-* scenarios: a client submits inference jobs to an
 * Ethos-U-shaped NPU through drm_sched, chaining them through the output
 * buffer's reservation object (implicit sync), waits for them, and lets the
 * device autosuspend. The variants differ only in the driver: each passes
 * the `EthosuDevice` (or a subclass overriding its job callbacks) to use.
 */
import type { ScenarioContext } from '../src/scenario/index.ts';
import { DrmDevice, DrmGemObject } from '../src/gem/index.ts';
import { EthosuDevice, npuSubmit } from '../src/hw/index.ts';
import { msleep } from '../src/kernel/index.ts';
import type { Kernel } from '../src/kernel/index.ts';
import { Device } from '../src/pci/index.ts';
import type { DmaFence } from '../src/fence/index.ts';

/** The NPU's interrupt line in these scenarios. */
export const NPU_IRQ = 60;

export function npuScenario(k: Kernel, ctx: ScenarioContext, npu: EthosuDevice = new EthosuDevice(k, { irq: NPU_IRQ }), jobs = 4): void {
  const drm = new DrmDevice(k, 'ethosu', new Device('ethosu.0'));
  k.kthreadRun('npu-client', async () => {
    const file = npu.open();
    const cmd = new DrmGemObject(drm, 4096, {}, { name: 'cmdstream' });
    const input = new DrmGemObject(drm, 1 << 16, {}, { name: 'ifm' });
    const output = new DrmGemObject(drm, 1 << 16, {}, { name: 'ofm' });
    const fences: DmaFence[] = [];
    for (let i = 0; i < jobs; i++) {
      const f = await npuSubmit(npu, file, {
        cmdstream: cmd,
        regionUse: [1 << 16, 1 << 16],
        regions: [input, output],
        outputs: [1],
        durationNs: 2_000_000,
      });
      if (typeof f === 'number') throw new Error(`submit ${i} failed: ${f}`);
      fences.push(f);
    }
    ctx.note(`submitted ${jobs} jobs; PM usage count while queued: ${npu.pm.usageCount}`);
    for (const f of fences) {
      await f.wait(false);
      if (f.error) throw new Error(`job ${f.seqno} failed: ${f.error}`);
      f.put();
    }
    await msleep(k, 200);
    ctx.note(`after completion and the 50 ms autosuspend: PM usage ${npu.pm.usageCount}, ${npu.pm.status}; ${npu.pm.resumes} resume(s), ${npu.pm.suspends} suspend(s)`);
    await npu.close(file);
    await npu.fini();
    for (const bo of [cmd, input, output]) bo.put();
  });
}
