/**
 * How the syncobj code allocates and locks, in a simulated thread or during
 * scenario setup (no thread yet: nothing is injected, no lock is taken).
 * Shared by the object, its waiters, and the handle table; not part of the
 * layer's public surface.
 *
 * @kernel drivers/gpu/drm/drm_syncobj.c (its kzalloc / idr_preload / spin_lock calls)
 */
import { GFP_KERNEL, kzalloc } from '../kernel/index.ts';
import type { Kernel, SpinLock } from '../kernel/index.ts';

/**
 * A GFP_KERNEL allocation of the syncobj code: false when the chooser
 * injects a failure. During scenario setup (no thread yet) nothing is
 * checked or injected, as for the fence layer's allocations.
 */
export function syncobjAlloc(k: Kernel, size: number, site: string): boolean {
  if (k.currentOrNull === null) return true;
  return kzalloc(k, size, GFP_KERNEL, site) !== null;
}

/**
 * Take `lock` when called from a simulated thread. During scenario setup
 * (no thread yet) nobody else can run, so the syncobj code works on its
 * objects without the spinlock, as the fence stub does: drivers and
 * scenarios may create and fill syncobjs in `setup`.
 */
export function lockIfRunning(lock: SpinLock): boolean {
  if (lock.kernel.currentOrNull === null) return false;
  lock.lock();
  return true;
}

/** Release `lock` if `lockIfRunning` took it. */
export function unlockIf(lock: SpinLock, took: boolean): void {
  if (took) lock.unlock();
}
