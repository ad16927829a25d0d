import { describe, expect, it } from 'vitest';
import { DrmDevice, DrmGemObject } from '../../src/gem/index.ts';
import { GpuDevice, xeBoEvictPinned } from '../../src/hw/index.ts';
import type { Kernel } from '../../src/kernel/index.ts';
import { Device } from '../../src/pci/index.ts';
import { DmaResvUsage } from '../../src/resv/index.ts';
import type { DmaResv } from '../../src/resv/index.ts';
import type { DrmSchedEntity } from '../../src/sched/index.ts';
import { rules, runTest } from './helpers.ts';

async function busy(_k: Kernel, gpu: GpuDevice, resv: DmaResv): Promise<DrmSchedEntity> {
  const e = gpu.createEntity();
  await resv.lock(null);
  resv.reserveFences(1);
  const j = gpu.jobCreate(e, 5_000_000);
  if (typeof j === 'number') throw new Error(String(j));
  const f = await gpu.submit(j);
  resv.addFence(f, DmaResvUsage.WRITE);
  resv.unlock();
  f.put();
  return e;
}

describe('Xe pinned eviction with a backup sharing the resv (edb1745fc618)', () => {
  it('shared resv: one slot, one KERNEL fence, dependencies from one resv; the pre-fix code reserved and added twice', async () => {
    await runTest(async (k) => {
      const render = new GpuDevice(k, { name: 'render', irq: 30 });
      const migrate = new GpuDevice(k, { name: 'migrate', irq: 31 });
      const drm = new DrmDevice(k, 'xe', new Device('xe'));
      const bo = new DrmGemObject(drm, 1 << 20, {}, { name: 'bo' });
      const backup = new DrmGemObject(drm, 1 << 20, {}, { name: 'backup', parent: bo });
      const re = await busy(k, render, bo.resv);
      const me = migrate.createEntity();
      const fixed = await xeBoEvictPinned(migrate, me, bo, backup);
      expect([fixed.resvsLocked, fixed.slotsReserved, fixed.fencesAdded, fixed.dependencies]).toEqual([1, 1, 1, 1]);
      expect(bo.resv.entries().filter((x) => x.usage === DmaResvUsage.KERNEL).length).toBe(1);
      const legacy = await xeBoEvictPinned(migrate, me, bo, backup, { legacy: true });
      expect([legacy.slotsReserved, legacy.fencesAdded]).toEqual([2, 2]);
      for (const s of [fixed, legacy]) if (typeof s.fence !== 'number') await s.fence.wait(false);
      for (const s of [fixed, legacy]) if (typeof s.fence !== 'number') s.fence.put();
      await me.destroy();
      await re.destroy();
      await render.fini();
      await migrate.fini();
      backup.put();
      bo.put();
    });
  });

  it('distinct resvs: dependencies from both; and the assertion fires', async () => {
    const { r } = await runTest(async (k) => {
      const render = new GpuDevice(k, { name: 'render', irq: 30 });
      const other = new GpuDevice(k, { name: 'other', irq: 32 });
      const migrate = new GpuDevice(k, { name: 'migrate', irq: 31 });
      const drm = new DrmDevice(k, 'xe', new Device('xe'));
      const bo = new DrmGemObject(drm, 1 << 20, {}, { name: 'bo' });
      const stray = new DrmGemObject(drm, 1 << 20, {}, { name: 'stray' });
      const e1 = await busy(k, render, bo.resv);
      const e2 = await busy(k, other, stray.resv);
      const me = migrate.createEntity();
      const s = await xeBoEvictPinned(migrate, me, bo, stray);
      expect(s.resvsLocked).toBe(2);
      expect(s.dependencies).toBe(2);
      if (typeof s.fence !== 'number') {
        await s.fence.wait(false);
        s.fence.put();
      }
      for (const e of [me, e1, e2]) await e.destroy();
      for (const g of [render, other, migrate]) await g.fini();
      stray.put();
      bo.put();
    });
    expect(rules(r.splats)).toEqual(['hw.xe_backup_resv_mismatch']);
  });
});
