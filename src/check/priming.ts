import { LdWait, LockdepMap, mmuNotifierConfig, reclaimMapsOf, Thread } from '../kernel/index.ts';
import type { HeldLock, Kernel, LockRead, LockValidator } from '../kernel/index.ts';
import { dmaFenceMapOf } from './signalling.ts';

/**
 * Lockdep class keys of the locks in the `dma_resv_lockdep` priming order.
 * Other layers create their locks with these keys so that their
 * acquisitions land in the primed classes: the resv layer's ww class is
 * `reservation_ww_class` (keys `reservation_ww_class_acquire` and
 * `reservation_ww_class_mutex`), an mm's mmap lock uses `mmap_lock`, an
 * address space's `i_mmap` rwsem uses `i_mmap_rwsem`.
 *
 * @kernel dma_resv_lockdep (drivers/dma-buf/dma-resv.c)
 */
export const RESV_LOCKDEP_KEYS = {
  mmapLock: 'mmap_lock',
  resvAcquire: 'reservation_ww_class_acquire',
  resvMutex: 'reservation_ww_class_mutex',
  fsReclaim: 'fs_reclaim',
  iMmapRwsem: 'i_mmap_rwsem',
  mmuNotifier: 'mmu_notifier_invalidate_range_start',
  dmaFenceMap: 'dma_fence_map',
} as const;

/**
 * A task that exists only for lockdep (`swapper/0` during boot): setup-time
 * annotations (priming) run on it without being a thread of the run.
 *
 * @kernel init_task (swapper/0), the task boot-time lockdep annotations run on
 */
export class BootLocker {
  readonly thread: Thread;

  constructor(
    readonly kernel: Kernel,
    private readonly validator: LockValidator,
  ) {
    this.thread = new Thread(kernel, 0, 'swapper/0', 'process', () => undefined, true, null);
  }

  /** `lock_acquire` on the boot task, without events. */
  acquire(map: LockdepMap, read: LockRead = 0, nestLock: LockdepMap | null = null): void {
    const t = this.thread;
    const h: HeldLock = {
      map,
      subclass: 0,
      read,
      trylock: false,
      check: true,
      nestLock,
      refs: 1,
      timeNs: this.kernel.nowNs,
      step: this.kernel.steps,
      site: 'dma_resv_lockdep (boot)',
      hardirqsOn: true,
      softirqsOn: true,
      validatorSlot: null,
    };
    this.validator.acquire(t, h);
    t.held.push(h);
  }

  /** `lock_release` on the boot task. */
  release(map: LockdepMap): void {
    const held = this.thread.held;
    for (let i = held.length - 1; i >= 0; i--) {
      if (held[i]!.map === map) {
        const [h] = held.splice(i, 1);
        this.validator.release(this.thread, h!);
        return;
      }
    }
  }
}

/**
 * `dma_resv_lockdep`: record once, on dummy objects, the nesting that real
 * code may use: mmap lock (read) → resv acquire context → resv lock →
 * `fs_reclaim` (as a GFP_KERNEL allocation) → `i_mmap_rwsem` (write, as
 * shrinkers unmapping buffers do) and → MMU-notifier map → fence wait
 * (`dma_fence_map` taken exclusively). Without MMU notifiers the fence wait
 * sits directly under `fs_reclaim`. Any inverse order anywhere is then
 * reported on first use.
 *
 * @kernel dma_resv_lockdep (drivers/dma-buf/dma-resv.c, subsys_initcall)
 */
export function dmaResvLockdepPrime(k: Kernel, validator: LockValidator): void {
  const boot = new BootLocker(k, validator);
  const K = RESV_LOCKDEP_KEYS;
  const mmap = new LockdepMap('&mm->mmap_lock', K.mmapLock, LdWait.SLEEP);
  const ctx = new LockdepMap(K.resvAcquire, K.resvAcquire, LdWait.INV);
  const firstLock = new LockdepMap(K.resvMutex, K.resvMutex, LdWait.SLEEP);
  const resv = new LockdepMap(K.resvMutex, K.resvMutex, LdWait.SLEEP);
  const iMmap = new LockdepMap('&mapping->i_mmap_rwsem', K.iMmapRwsem, LdWait.SLEEP);
  const { fsReclaim, mmuNotifier } = reclaimMapsOf(k);
  const fenceMap = dmaFenceMapOf(k);
  const mmu = mmuNotifierConfig.get(k) ?? true;

  boot.acquire(mmap, 1);
  // ww_acquire_init: the context, and the "first lock" map nested under it.
  boot.acquire(ctx);
  boot.acquire(firstLock, 0, ctx);
  boot.acquire(resv, 0, ctx);
  // fs_reclaim_acquire(GFP_KERNEL)
  boot.acquire(fsReclaim);
  if (mmu) {
    boot.acquire(mmuNotifier);
    boot.release(mmuNotifier);
  }
  boot.acquire(iMmap);
  boot.release(iMmap);
  if (mmu) boot.acquire(mmuNotifier);
  // __dma_fence_might_wait()
  boot.acquire(fenceMap);
  boot.release(fenceMap);
  if (mmu) boot.release(mmuNotifier);
  boot.release(fsReclaim);
  boot.release(resv);
  boot.release(firstLock);
  boot.release(ctx);
  boot.release(mmap);
}
