import type { LockdepMap } from './lockdep-map.ts';
import type { Thread } from './thread.ts';
import type { TimerEntry } from './timer-heap.ts';

/*
 * The happens-before checker slot: the one optional hook the kernel
 * primitives call at their synchronisation points, the memory API at every
 * instrumented access, and allocators at allocation and free. The checker
 * layer installs the race detector and KASAN behind it
 * (`createCheckedKernel`, `src/check/races.ts`); with none installed
 * (`kernel.hb === null`) every hook costs one branch, exactly like the
 * lockdep `validator` slot.
 *
 * What a synchronisation primitive must call (`k.hb?.…`, passing the thread
 * that acts, or `k.currentOrNull` outside threads):
 *
 * - A lock of any kind (mutex, spinlock, rwlock_t, rw_semaphore, counting
 *   semaphore, ww_mutex, ...):
 *     * `acquire(t, lock)` when `t` obtains it for exclusive use (lock,
 *       successful trylock, the slow path's hand-over, a semaphore `down`);
 *     * `release(t, lock)` when `t` gives it up (unlock, semaphore `up`,
 *       and `downgrade_write` before continuing as a reader);
 *     * for shared (read) holds `acquireShared(t, lock)` /
 *       `releaseShared(t, lock)`: readers see the writers' history but not
 *       each other's, as in ThreadSanitizer.
 *   A failed trylock calls nothing.
 * - A one-shot or counted event (completion, wait queue, fence, syncobj
 *   point, kref): `release(t, obj)` where the producer publishes (complete,
 *   wake_up, signal, put) and `acquire(t, obj)` where a consumer returns
 *   having seen it (wait returns, a successful try-wait, a query that
 *   answers "done").
 * - Freeing memory that holds the primitive: `free(t, obj, fn)`; every
 *   later `acquire`/`release` on it is a KASAN use-after-free.
 *
 * The kernel core itself calls `fork` (thread and context creation), `wake`
 * (`wake_up_process`), `release(t, t)` at thread exit, and `timerArmed` /
 * `timerFire` around its timer queue, so timer arm → fire and IRQ raise →
 * handler need nothing more from a primitive built on `addTimer` or
 * `spawnContext`.
 *
 * Sync objects are keyed by identity: any object may serve (a lock, a
 * `WorkInstance`, a fence); the checker keeps its clock in a WeakMap.
 *
 * Not part of this slot but of the same contract for a new sleeping
 * primitive: its entry points go through `Kernel.sleeping(op, now, sleep,
 * timedOut?)` (plain functions returning the promise, not `async`), so that
 * called from a fence callback, an IRQ handler or a timer it takes its
 * non-sleeping path (`now`) instead of failing the run.
 */

/**
 * How a location is accessed, in KCSAN's terms: plain (`x = y`), marked
 * (`READ_ONCE` / `WRITE_ONCE`, RCU accessors, atomic_read/set, test_bit /
 * set_bit), or an atomic read-modify-write (marked read and write). Two
 * marked accesses never race.
 */
export const Access = {
  READ: 0,
  WRITE: 1,
  READ_ONCE: 2,
  WRITE_ONCE: 3,
  ATOMIC_RMW: 4,
} as const;
export type AccessKind = (typeof Access)[keyof typeof Access];

/**
 * One instrumented memory location: a field of a driver struct, a global
 * cell, a field of a model object that drivers touch. `owner` is the
 * allocation it belongs to (freeing the owner poisons the location), or null
 * for static memory. `shadow` is the checker's state, null until the first
 * access with a checker installed.
 *
 * @kernel the shadow memory KCSAN and KASAN keep for every byte
 */
export class MemLoc {
  /** The checker's state for this location (opaque to the kernel). */
  shadow: unknown = null;

  constructor(
    /** Name in reports, in C syntax: `ring->seqno`, `job->s_fence`. */
    readonly name: string,
    /** The allocation holding this location, or null (static memory). */
    readonly owner: object | null,
    /** Size in bytes, for reports (`read of 8 bytes`). */
    readonly size = 8,
  ) {}
}

/** What the checker knows about an allocation, for reports and for freeing it. */
export interface AllocInfo {
  /** What the object is: `struct gpu_ring`, `kmalloc-64`, `drm_sched_job`. */
  readonly what: string;
  /** Size in bytes. */
  readonly size: number;
  /** The function that allocated it (the kernel function or driver site). */
  readonly fn: string;
  /** Locks embedded in the object: freeing it while one is held is `held lock freed!`. */
  readonly locks?: readonly { readonly dep: LockdepMap }[];
}

/**
 * The happens-before / lifetime checker installed in a kernel
 * (`KernelOptions.hb`). See the file comment for which primitive calls
 * what. Every method tolerates `t === null` (code running outside threads,
 * e.g. a timer firing): the clock of the timer being fired stands in.
 *
 * @kernel the instrumentation hooks of KCSAN (kcsan_check_access), KASAN (kasan_slab_free, kasan_check_range) and ThreadSanitizer's annotations (__tsan_acquire / __tsan_release)
 */
export interface HbChecker {
  /** `t` obtains `sync` exclusively: it sees everything released into it. */
  acquire(t: Thread | null, sync: object): void;
  /** `t` publishes its history into `sync`. */
  release(t: Thread | null, sync: object): void;
  /** `t` obtains `sync` shared (a read lock): sees exclusive releases only. */
  acquireShared(t: Thread | null, sync: object): void;
  /** `t` gives up a shared hold of `sync`. */
  releaseShared(t: Thread | null, sync: object): void;
  /** `child` is created by `parent` (or by the timer being fired when null). */
  fork(parent: Thread | null, child: Thread): void;
  /** `wake_up_process(woken)` by `waker`: the woken task sees the waker's history. */
  wake(waker: Thread | null, woken: Thread): void;
  /** A timer was armed: remember the arming context's clock in the entry. */
  timerArmed(e: TimerEntry, by: Thread | null): void;
  /** The kernel is about to run `e.fire()` (null: done firing). */
  timerFire(e: TimerEntry | null): void;
  /**
   * An instrumented access to `loc` by `t`. `fn` names the accessing kernel
   * function for reports (null: use the source site or the thread). `site`
   * overrides the source site the checker would capture itself (model
   * objects pass their caller's), when stacks are captured.
   */
  access(t: Thread, loc: MemLoc, kind: AccessKind, fn: string | null, site?: string | null): void;
  /** `obj` was allocated (kmalloc, a job, a dma_resv, an acquire context). */
  alloc(obj: object, info: AllocInfo): void;
  /**
   * `obj` is freed by `t` in `fn`: accesses not ordered before it are a
   * use-after-free, later ones too. Returns false (reporting nothing) when
   * `obj` was never registered or is already freed.
   */
  free(t: Thread | null, obj: object, fn: string): boolean;
  /**
   * A use of the whole object through the model's API (`fn`), e.g. pushing a
   * job or locking a resv: a KASAN use-after-free once the object is freed;
   * before that it only takes part in the free-race check (as a marked access).
   */
  touch(t: Thread, obj: object, fn: string, write: boolean): void;
  /** True once `obj` was freed. */
  isFreed(obj: object): boolean;
}
