import { describe, expect, it } from 'vitest';
import { createCheckedKernel } from '../../src/check/index.ts';
import { DrmDevice, DrmGemObject } from '../../src/gem/index.ts';
import { EthosuDevice, npuSubmit, npuValidateRegions } from '../../src/hw/index.ts';
import type { DmaFence } from '../../src/fence/index.ts';
import type { NpuJob, NpuSubmitArgs } from '../../src/hw/index.ts';
import { GFP_KERNEL, kzalloc, msleep } from '../../src/kernel/index.ts';
import type { Chooser, Kernel } from '../../src/kernel/index.ts';
import { Device } from '../../src/pci/index.ts';
import { rules, runTest } from './helpers.ts';

function bos(k: Kernel) {
  const drm = new DrmDevice(k, 'ethosu', new Device('ethosu.0'));
  const mk = (size: number, name: string) => new DrmGemObject(drm, size, {}, { name });
  return { cmd: mk(4096, 'cmd'), input: mk(65536, 'ifm'), output: mk(65536, 'ofm'), small: mk(4096, 'small') };
}

function args(b: ReturnType<typeof bos>, extra: Partial<NpuSubmitArgs> = {}): NpuSubmitArgs {
  return { cmdstream: b.cmd, regionUse: [65536, 65536], regions: [b.input, b.output], outputs: [1], durationNs: 1_000_000, ...extra };
}

describe('Ethos-U NPU: submit validation', () => {
  it('region 2 with both a buffer and SRAM, a buffer for an unused region, or a used region without backing is -EINVAL; a region larger than its buffer -EOVERFLOW', async () => {
    await runTest(async (k) => {
      const npu = new EthosuDevice(k, { irq: 90, sramSize: 1 << 20 });
      const b = bos(k);
      expect(npuValidateRegions(npu, args(b))).toBe(0);
      expect(npuValidateRegions(npu, { ...args(b), regionUse: [65536, 65536, 4096], regions: [b.input, b.output, b.small], sramSize: 4096 })).toBe(-22);
      expect(npuValidateRegions(npu, { ...args(b), regionUse: [65536, 65536, 4096], regions: [b.input, b.output, null], sramSize: 4096 })).toBe(0);
      expect(npuValidateRegions(npu, { ...args(b), regionUse: [65536, 0], regions: [b.input, b.output] })).toBe(-22);
      expect(npuValidateRegions(npu, { ...args(b), regionUse: [65536, 65536, 0, 100], regions: [b.input, b.output] })).toBe(-22);
      expect(npuValidateRegions(npu, { ...args(b), regionUse: [65536, 65536], regions: [b.small, b.output] })).toBe(-75);
      const f = await npuSubmit(npu, npu.open(), { ...args(b), regions: [b.small, b.output] });
      expect(f).toBe(-75);
      await npu.fini();
      for (const bo of Object.values(b)) bo.put();
    });
  });
});

describe('Ethos-U NPU: runtime PM and the job lifetime', () => {
  it('+1 PM reference per pushed job, -1 when it is freed; suspended only when no job holds one', async () => {
    const { r } = await runTest(async (k) => {
      const npu = new EthosuDevice(k, { irq: 90 });
      const b = bos(k);
      const file = npu.open();
      const fences = [];
      for (let i = 0; i < 3; i++) {
        const f = await npuSubmit(npu, file, args(b, { durationNs: 10_000_000 }));
        if (typeof f === 'number') throw new Error(String(f));
        fences.push(f);
      }
      expect(npu.pm.usageCount).toBe(3);
      expect(npu.pm.status).toBe('active');
      await fences[0]!.wait(false);
      await msleep(k, 1);
      expect(npu.pm.usageCount).toBe(2);
      for (const f of fences) await f.wait(false);
      await msleep(k, 1);
      expect(npu.pm.usageCount).toBe(0);
      expect(npu.pm.status).toBe('active'); // autosuspend delay (50 ms) not over yet
      await msleep(k, 60);
      expect(npu.pm.status).toBe('suspended');
      expect(npu.engine.powered).toBe(false);
      for (const f of fences) f.put();
      await npu.close(file);
      await npu.fini();
      for (const bo of Object.values(b)) bo.put();
    });
    expect(rules(r.splats)).toEqual([]);
  });

  it('a failure before arm leaks no PM reference, fence or job', async () => {
    // Fail the fence-slot reservation (the allocation of the resv's fence table).
    const failing: Chooser = { choose: () => 0, inject: (kind, site) => kind === 'alloc' && site === 'dma_resv_reserve_fences' };
    const k = createCheckedKernel({ chooser: failing });
    let ret = 0;
    let usage = -1;
    k.kthreadRun('t', async () => {
      const npu = new EthosuDevice(k, { irq: 90 });
      const b = bos(k);
      const file = npu.open();
      const f = await npuSubmit(npu, file, args(b));
      ret = typeof f === 'number' ? f : 0;
      usage = npu.pm.usageCount;
      await npu.close(file);
      await npu.fini();
      for (const bo of Object.values(b)) bo.put();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(ret).toBe(-12);
    expect(usage).toBe(0);
    // No leaked fence, job or PM reference: nothing reported at the end.
    expect(rules(r.splats)).toEqual([]);
  });

  it('the v5 submit path: allocating the fence in run_job is a reclaim deadlock hazard', async () => {
    const { r } = await runTest(async (k) => {
      // v5: no done-fence storage at submit; run_job allocates it with GFP_KERNEL.
      class EthosuV5 extends EthosuDevice {
        override allocDoneFence(): number {
          return 0;
        }
        override async runJob(job: NpuJob): Promise<DmaFence | null | number> {
          if (!kzalloc(k, 64, GFP_KERNEL, 'ethosu_fence_alloc')) return -12;
          job.fenceStorage = true;
          return this.startJob(job);
        }
      }
      const npu = new EthosuV5(k, { irq: 90 });
      const b = bos(k);
      const file = npu.open();
      const f = await npuSubmit(npu, file, args(b));
      if (typeof f === 'number') throw new Error(String(f));
      await f.wait(false);
      f.put();
      await npu.close(file);
      await npu.fini();
      for (const bo of Object.values(b)) bo.put();
    });
    expect(rules(r.splats)).toEqual(['lockdep.circular']);
  });
});

describe('Ethos-U NPU: timeouts', () => {
  it('a hung job: the handler stops the scheduler, resets through forced suspend/resume, and the job completes -ECANCELED', async () => {
    const { r } = await runTest(async (k) => {
      const npu = new EthosuDevice(k, { irq: 90, timeoutMs: 100 });
      const b = bos(k);
      const file = npu.open();
      const hung = await npuSubmit(npu, file, args(b, { hang: true }));
      const next = await npuSubmit(npu, file, args(b));
      if (typeof hung === 'number' || typeof next === 'number') throw new Error('submit failed');
      await hung.wait(false);
      expect(hung.error).toBe(-125);
      await next.wait(false);
      expect(next.error).toBe(0);
      expect(npu.pm.resumes).toBeGreaterThanOrEqual(2);
      hung.put();
      next.put();
      await msleep(k, 100);
      expect(npu.pm.usageCount).toBe(0);
      await npu.close(file);
      await npu.fini();
      for (const bo of Object.values(b)) bo.put();
    });
    expect(rules(r.splats)).toEqual([]);
  });

  it('a long job that makes progress is a false alarm (NO_HANG) and completes normally', async () => {
    await runTest(async (k) => {
      const npu = new EthosuDevice(k, { irq: 90, timeoutMs: 100 });
      const b = bos(k);
      const file = npu.open();
      const f = await npuSubmit(npu, file, args(b, { durationNs: 350_000_000 }));
      if (typeof f === 'number') throw new Error(String(f));
      await f.wait(false);
      expect(f.error).toBe(0);
      f.put();
      await npu.close(file);
      await npu.fini();
      for (const bo of Object.values(b)) bo.put();
    });
  });
});
