/**
 * Memory reclaim as lockdep sees it: a reclaim context runs "holding"
 * `fs_reclaim` (so everything a shrinker takes or waits on depends on
 * reclaim), and shrinkers registered on a kernel run inside it.
 *
 * @kernel __perform_reclaim, shrink_slab, fs_reclaim_acquire (mm/vmscan.c, mm/page_alloc.c)
 */
import { fsReclaimAcquire, fsReclaimRelease, GFP_KERNEL } from '../kernel/index.ts';
import type { Kernel } from '../kernel/index.ts';

/**
 * Run `fn` as direct reclaim does: `fs_reclaim_acquire(gfp)` (GFP-aware:
 * `fs_reclaim` for `__GFP_FS`, the MMU-notifier map for any blocking mask),
 * then `PF_MEMALLOC` so allocations inside do not recurse into reclaim;
 * undone in reverse when `fn` returns (or its promise settles). Process
 * context; `fn` may be sync or async.
 *
 * @kernel __perform_reclaim (fs_reclaim_acquire + memalloc_noreclaim_save)
 */
export function reclaimContext<T>(k: Kernel, gfp: number, fn: () => T): T {
  const t = k.current;
  fsReclaimAcquire(k, gfp);
  const was = t.inReclaim;
  t.inReclaim = true;
  let sync = true;
  try {
    const r = fn();
    if (r instanceof Promise) {
      sync = false;
      return r.finally(() => {
        t.inReclaim = was;
        fsReclaimRelease(k, gfp);
      }) as T;
    }
    return r;
  } finally {
    if (sync) {
      t.inReclaim = was;
      fsReclaimRelease(k, gfp);
    }
  }
}

/** `struct shrink_control`. */
export interface ShrinkControl {
  readonly gfpMask: number;
  /** Objects the shrinker should try to free. */
  readonly nrToScan: number;
}

/**
 * `struct shrinker`: a cache that reclaim can shrink. `scanObjects` runs in
 * reclaim context (holding `fs_reclaim`): it may trylock, wait on fences
 * (allowed by the dma-fence contract), but a lock it takes must never be
 * held around an allocation that may reclaim.
 *
 * @kernel struct shrinker (include/linux/shrinker.h)
 */
export interface Shrinker {
  readonly name: string;
  /** `count_objects`: freeable objects (0: nothing to do). */
  countObjects(sc: ShrinkControl): number;
  /** `scan_objects`: free up to `sc.nrToScan`; returns the number freed. */
  scanObjects(sc: ShrinkControl): number | Promise<number>;
}

const shrinkers = new WeakMap<Kernel, Shrinker[]>();

/** `shrinker_register`: add `s` to the shrinkers of `k`. Any context. @kernel shrinker_register */
export function registerShrinker(k: Kernel, s: Shrinker): void {
  let list = shrinkers.get(k);
  if (!list) shrinkers.set(k, (list = []));
  list.push(s);
}

/** `shrinker_free`: remove `s`. @kernel shrinker_free */
export function unregisterShrinker(k: Kernel, s: Shrinker): void {
  const list = shrinkers.get(k);
  const i = list?.indexOf(s) ?? -1;
  if (list && i >= 0) list.splice(i, 1);
}

/**
 * Direct reclaim: run every registered shrinker of `k` (in registration
 * order) inside `reclaimContext(k, gfp)`. Returns the number of objects
 * freed. Process context; may sleep if a shrinker does.
 *
 * @kernel shrink_slab (as reached from try_to_free_pages)
 */
export async function runShrinkers(k: Kernel, gfp: number = GFP_KERNEL, nrToScan = 128): Promise<number> {
  k.mightSleep('shrink_slab');
  const list = [...(shrinkers.get(k) ?? [])];
  return reclaimContext(k, gfp, async () => {
    let freed = 0;
    for (const s of list) {
      const sc: ShrinkControl = { gfpMask: gfp, nrToScan };
      if (s.countObjects(sc) === 0) continue;
      freed += await s.scanObjects(sc);
    }
    return freed;
  });
}
