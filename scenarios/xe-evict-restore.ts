/**
 * Xe suspend/resume of a pinned VRAM object (Matthew Auld's fix, upstream
 * edb1745fc618): the object is evicted to a system-memory backup created
 * with the parent's reservation object, and restored later. Because the two
 * share one resv, each operation locks it once, reserves one fence slot,
 * adds the migration fence once (KERNEL usage) and collects the copy's
 * dependencies from that resv once — no duplicate dependencies.
 *
 * Expectation: clean; the notes show the slot and dependency counts.
 */
import { defineScenario } from '../src/scenario/index.ts';
import { DrmDevice, DrmGemObject } from '../src/gem/index.ts';
import { GpuDevice, xeBoEvictPinned, xeBoRestorePinned } from '../src/hw/index.ts';
import type { XeMigrateStats } from '../src/hw/index.ts';
import { DmaResvUsage } from '../src/resv/index.ts';
import { Device } from '../src/pci/index.ts';

function describe(what: string, s: XeMigrateStats): string {
  return `${what}: ${s.resvsLocked} resv locked, ${s.slotsReserved} slot reserved, ${s.fencesAdded} fence added (KERNEL), ${s.dependencies} dependencies (one per context, no duplicates)`;
}

export default defineScenario({
  name: 'xe-evict-restore',
  description: 'a pinned object evicted to a backup that shares its resv and restored: one slot and one fence per operation, no duplicate dependencies',
  expect: { verdict: 'clean' },
  setup(k, ctx) {
    const render = new GpuDevice(k, { name: 'xe-render', irq: 70 });
    const migrate = new GpuDevice(k, { name: 'xe-migrate', irq: 71 });
    const drm = new DrmDevice(k, 'xe', new Device('0000:03:00.0'));
    k.kthreadRun('xe-pm', async () => {
      const bo = new DrmGemObject(drm, 1 << 20, {}, { name: 'pinned-vram' });
      const backup = new DrmGemObject(drm, 1 << 20, {}, { name: 'backup', parent: bo });
      const renderEntity = render.createEntity();
      const migrateEntity = migrate.createEntity();
      // A render job last wrote the object: its fence sits in the shared resv.
      await bo.resv.lock(null);
      const job = render.jobCreate(renderEntity, 5_000_000);
      if (typeof job === 'number') throw new Error('job create failed');
      if (bo.resv.reserveFences(1)) throw new Error('reserve failed');
      const rf = await render.submit(job);
      bo.resv.addFence(rf, DmaResvUsage.WRITE);
      bo.resv.unlock();

      const evict = await xeBoEvictPinned(migrate, migrateEntity, bo, backup);
      if (typeof evict.fence === 'number') throw new Error(`evict failed: ${evict.fence}`);
      ctx.note(describe('evict', evict));
      // Restore queued right behind: it depends on the evict copy and the still-running render job.
      const restore = await xeBoRestorePinned(migrate, migrateEntity, bo, backup);
      if (typeof restore.fence === 'number') throw new Error(`restore failed: ${restore.fence}`);
      ctx.note(describe('restore', restore));
      await evict.fence.wait(false);
      await restore.fence.wait(false);
      for (const s of [evict, restore]) {
        if (s.resvsLocked !== 1 || s.slotsReserved !== 1 || s.fencesAdded !== 1) throw new Error(`expected one resv, one slot, one fence: ${JSON.stringify({ ...s, fence: undefined })}`);
      }
      if (evict.dependencies !== 1 || restore.dependencies !== 2) throw new Error(`unexpected dependency counts ${evict.dependencies}/${restore.dependencies}`);
      ctx.note(`shared resv now holds ${bo.resv.entries().length} fences`);
      for (const f of [rf, evict.fence, restore.fence]) f.put();
      await renderEntity.destroy();
      await migrateEntity.destroy();
      await render.fini();
      await migrate.fini();
      backup.put();
      bo.put();
    });
  },
});
