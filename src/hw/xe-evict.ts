import type { DmaFence } from '../fence/index.ts';
import type { DrmSchedEntity } from '../sched/index.ts';
import { DmaResvUsage } from '../resv/index.ts';
import type { DmaResv } from '../resv/index.ts';
import type { GpuDevice } from './gpu.ts';
import { lockReservations, uniqueResvs, unlockReservations } from './resv-lock.ts';
import type { HasResvObj } from './resv-lock.ts';

/** A buffer object for the evict/restore path (a GEM object). */
export interface XeBo extends HasResvObj {
  readonly size: number;
  readonly name: string;
}

/** What one evict or restore did: the counts the Xe fix is about. */
export interface XeMigrateStats {
  /** Distinct reservation objects locked. */
  resvsLocked: number;
  /** `dma_resv_reserve_fences` slots requested. */
  slotsReserved: number;
  /** `dma_resv_add_fence` calls. */
  fencesAdded: number;
  /** Dependencies of the copy job (one per fence context). */
  dependencies: number;
  /** The copy's fence (a reference), or an errno. */
  fence: DmaFence | number;
}

/** Options: `legacy` replays the code before upstream edb1745fc618 (reserve and add once per BO). */
export interface XeMigrateOptions {
  legacy?: boolean;
}

/**
 * `xe_migrate_copy`: a copy job on the migrate engine. Dependencies of the
 * source's resv, and of the destination's only when it is a different resv
 * (compare resv pointers, not BO pointers — the upstream fix).
 */
async function xeMigrateCopy(gpu: GpuDevice, entity: DrmSchedEntity, src: XeBo, dst: XeBo, legacy: boolean): Promise<{ fence: DmaFence | number; deps: number }> {
  const job = gpu.jobCreate(entity, Math.max(1000, src.size / 16));
  if (typeof job === 'number') return { fence: job, deps: 0 };
  let r = job.addResvDependencies(src.resv, DmaResvUsage.BOOKKEEP);
  if (!r && (legacy ? src !== dst : src.resv !== dst.resv)) r = job.addResvDependencies(dst.resv, DmaResvUsage.BOOKKEEP);
  if (r) {
    job.cleanup();
    return { fence: r, deps: 0 };
  }
  const deps = job.dependencies.length;
  return { fence: await gpu.submit(job), deps };
}

async function migratePinned(gpu: GpuDevice, entity: DrmSchedEntity, src: XeBo, dst: XeBo, opts: XeMigrateOptions, what: string): Promise<XeMigrateStats> {
  const k = gpu.kernel;
  const legacy = opts.legacy ?? false;
  if (src.resv !== dst.resv) {
    k.splat({
      rule: 'hw.xe_backup_resv_mismatch',
      severity: 'warn',
      headline: `xe_assert failed: ${what}: bo->ttm.base.resv == backup->ttm.base.resv`,
      body: `${src.name} and ${dst.name} must share one reservation object: the backup is created with its parent's resv, so it is locked and fenced as one.`,
      data: { src: src.name, dst: dst.name },
    });
  }
  const objs = [src, dst];
  const stats: XeMigrateStats = { resvsLocked: uniqueResvs(objs).length, slotsReserved: 0, fencesAdded: 0, dependencies: 0, fence: 0 };
  const ctx = await lockReservations(k, objs);
  if (typeof ctx === 'number') return { ...stats, fence: ctx };
  // The fix: one slot per resv; the old code reserved on bo->resv and on backup->resv (the same object).
  const reserveOn: DmaResv[] = legacy ? objs.map((o) => o.resv) : uniqueResvs(objs);
  for (const resv of reserveOn) {
    const r = resv.reserveFences(1);
    if (r) {
      unlockReservations(objs, ctx);
      return { ...stats, fence: r };
    }
    stats.slotsReserved++;
  }
  const { fence, deps } = await xeMigrateCopy(gpu, entity, src, dst, legacy);
  stats.dependencies = deps;
  if (typeof fence !== 'number') {
    for (const resv of reserveOn) {
      resv.addFence(fence, DmaResvUsage.KERNEL);
      stats.fencesAdded++;
    }
  }
  unlockReservations(objs, ctx);
  return { ...stats, fence };
}

/**
 * `xe_bo_evict_pinned`: copy a pinned VRAM object to its system-memory
 * backup, which shares its reservation object: one slot reserved, one
 * KERNEL fence added, dependencies collected once. Process context.
 *
 * @kernel xe_bo_evict_pinned (drivers/gpu/drm/xe/xe_bo.c, after edb1745fc618)
 */
export function xeBoEvictPinned(gpu: GpuDevice, entity: DrmSchedEntity, bo: XeBo, backup: XeBo, opts: XeMigrateOptions = {}): Promise<XeMigrateStats> {
  return migratePinned(gpu, entity, bo, backup, opts, 'xe_bo_evict_pinned');
}

/** `xe_bo_restore_pinned`: the copy back, with the same single reserve and add. Process context. @kernel xe_bo_restore_pinned */
export function xeBoRestorePinned(gpu: GpuDevice, entity: DrmSchedEntity, bo: XeBo, backup: XeBo, opts: XeMigrateOptions = {}): Promise<XeMigrateStats> {
  return migratePinned(gpu, entity, backup, bo, opts, 'xe_bo_restore_pinned');
}
