import { Errno, GFP_KERNEL, kvmalloc, WwAcquireCtx } from '../kernel/index.ts';
import type { Kernel } from '../kernel/index.ts';
import { reservationWwClass } from '../resv/index.ts';
import type { DrmGemObject } from './gem-object.ts';

/** `DRM_EXEC_INTERRUPTIBLE_WAIT`: lock with the interruptible variants. */
export const DRM_EXEC_INTERRUPTIBLE_WAIT = 1 << 0;
/** `DRM_EXEC_IGNORE_DUPLICATES`: locking an object already locked (or sharing a locked resv) is not an error. */
export const DRM_EXEC_IGNORE_DUPLICATES = 1 << 1;

/** `DRM_EXEC_DUMMY`: "first pass" marker of `contended`. */
const DRM_EXEC_DUMMY = Symbol('DRM_EXEC_DUMMY');

/**
 * `struct drm_exec`: lock a set of GEM objects' reservation objects in one
 * ww transaction, backing off and retrying on contention: when a lock
 * returns `-EDEADLK` the object is remembered as contended, everything is
 * unlocked, and the next pass locks the contended object first with the
 * slow path. Fence slots can be reserved on each object as it is locked.
 *
 * ```ts
 * const exec = new DrmExec(k, DRM_EXEC_INTERRUPTIBLE_WAIT);
 * const r = await exec.untilAllLocked(async () => {
 *   for (const bo of bos) {
 *     const ret = await exec.prepareObj(bo, 1);
 *     if (exec.retryOnContention()) return;   // drm_exec_retry_on_contention
 *     if (ret) return ret;                    // goto error
 *   }
 * });
 * for (const bo of exec.objects) bo.resv.addFence(fence, DmaResvUsage.READ);
 * exec.fini();
 * ```
 *
 * Constructing it is `drm_exec_init` (process context, in the thread that
 * will lock).
 *
 * @kernel struct drm_exec, drm_exec_init, drm_exec_fini, drm_exec_cleanup, drm_exec_lock_obj, drm_exec_prepare_obj, drm_exec_until_all_locked (drivers/gpu/drm/drm_exec.c)
 */
export class DrmExec {
  /** `exec->ticket`: the acquire context (created on the first pass). */
  ticket: WwAcquireCtx | null = null;
  /** Locked objects, each with a reference. */
  readonly objects: DrmGemObject[] = [];
  /** `exec->contended`: the object to slow-lock next, null, or the first-pass marker. */
  contended: DrmGemObject | null | typeof DRM_EXEC_DUMMY = DRM_EXEC_DUMMY;
  /** `exec->prelocked`: the contended object locked at the start of this pass. */
  prelocked: DrmGemObject | null = null;
  /** Passes of the retry loop (model statistic). */
  passes = 0;
  /** `-EDEADLK` back-offs (model statistic). */
  backoffs = 0;
  private maxObjects: number;

  constructor(
    readonly kernel: Kernel,
    readonly flags = 0,
    nr = 0,
  ) {
    const n = nr || 4096 / 8;
    // If this fails, allocation is retried on first use, as the kernel does.
    this.maxObjects = kvmalloc(kernel, n * 8, GFP_KERNEL, 'drm_exec_init') ? n : 0;
  }

  /** `drm_exec_is_contended`. */
  isContended(): boolean {
    return this.contended !== null && this.contended !== DRM_EXEC_DUMMY;
  }

  /** `drm_exec_retry_on_contention`: true when the pass must start over (return from the loop body). */
  retryOnContention(): boolean {
    return this.isContended();
  }

  /**
   * `drm_exec_cleanup`: end of a pass. No contention: the acquire phase is
   * done (`ww_acquire_done`), false. First pass: start the transaction,
   * true. Contention: unlock everything, true (the contended object is
   * slow-locked at the next lock call).
   */
  cleanup(): boolean {
    if (this.contended === null) {
      this.ticket!.done();
      return false;
    }
    this.passes++;
    if (this.contended === DRM_EXEC_DUMMY) {
      this.contended = null;
      this.ticket = new WwAcquireCtx(this.kernel, reservationWwClass);
      return true;
    }
    this.unlockAll();
    return true;
  }

  /**
   * `drm_exec_until_all_locked` around `body`: run passes until one
   * completes without contention. The body returns after a contended lock
   * (`retryOnContention()`), or a negative errno to leave the loop (objects
   * stay locked until `fini`). Returns 0 or the body's error.
   */
  async untilAllLocked(body: (exec: this) => Promise<number | void>): Promise<number> {
    while (this.cleanup()) {
      const r = await body(this);
      if (this.isContended()) continue;
      if (typeof r === 'number' && r !== 0) return r;
    }
    return 0;
  }

  /**
   * `drm_exec_lock_obj`: lock `obj`'s resv in the transaction, with a
   * reference. 0; `-EDEADLK` (contended: return and retry); `-EALREADY` when
   * this transaction holds that resv already (0 with
   * `DRM_EXEC_IGNORE_DUPLICATES`: objects sharing a resv); `-EINTR`;
   * `-ENOMEM`.
   */
  async lockObj(obj: DrmGemObject): Promise<number> {
    let ret = await this.lockContended();
    if (ret) return ret;
    if (this.prelocked === obj) {
      this.prelocked.put();
      this.prelocked = null;
      return 0;
    }
    const ticket = this.requireTicket('drm_exec_lock_obj');
    ret =
      this.flags & DRM_EXEC_INTERRUPTIBLE_WAIT
        ? await obj.resv.lockInterruptible(ticket)
        : await obj.resv.lock(ticket);
    if (ret === -Errno.EDEADLK) {
      this.backoffs++;
      obj.get();
      this.contended = obj;
      return ret;
    }
    if (ret === -Errno.EALREADY && this.flags & DRM_EXEC_IGNORE_DUPLICATES) return 0;
    if (ret) return ret;
    ret = this.objLocked(obj);
    if (ret) obj.resv.unlock();
    return ret;
  }

  /** `drm_exec_unlock_obj`: unlock one (recently locked) object and drop it from the set. */
  unlockObj(obj: DrmGemObject): void {
    const i = this.objects.lastIndexOf(obj);
    if (i < 0) return;
    obj.resv.unlock();
    this.objects.splice(i, 1);
    obj.put();
  }

  /** `drm_exec_prepare_obj`: lock and reserve `numFences` slots; on a reserve error the object is unlocked again. */
  async prepareObj(obj: DrmGemObject, numFences: number): Promise<number> {
    let ret = await this.lockObj(obj);
    if (ret) return ret;
    ret = obj.resv.reserveFences(numFences);
    if (ret) {
      this.unlockObj(obj);
      return ret;
    }
    return 0;
  }

  /** `drm_exec_prepare_array`: `prepareObj` on each, stopping at the first error. */
  async prepareArray(objs: readonly DrmGemObject[], numFences: number): Promise<number> {
    for (const o of objs) {
      const ret = await this.prepareObj(o, numFences);
      if (ret) return ret;
    }
    return 0;
  }

  /** `drm_exec_fini`: unlock everything, drop the references, end the transaction. */
  fini(): void {
    this.unlockAll();
    if (this.contended !== DRM_EXEC_DUMMY) {
      if (this.contended) this.contended.put();
      this.ticket?.fini();
    }
  }

  private requireTicket(op: string): WwAcquireCtx {
    if (!this.ticket)
      throw new Error(
        `${op}: call it inside exec.untilAllLocked(...) (drm_exec_until_all_locked): no transaction yet`,
      );
    return this.ticket;
  }

  /** `drm_exec_lock_contended`: slow-lock the object that made the last pass back off. */
  private async lockContended(): Promise<number> {
    const obj = this.contended;
    if (obj === null || obj === DRM_EXEC_DUMMY) return 0;
    this.contended = null;
    const ticket = this.requireTicket('drm_exec_lock_obj');
    if (this.flags & DRM_EXEC_INTERRUPTIBLE_WAIT) {
      const ret = await obj.resv.lockSlowInterruptible(ticket);
      if (ret) {
        obj.put();
        return ret;
      }
    } else {
      await obj.resv.lockSlow(ticket);
    }
    const ret = this.objLocked(obj);
    if (ret) {
      obj.resv.unlock();
      obj.put();
      return ret;
    }
    this.prelocked = obj;
    return 0;
  }

  /** `drm_exec_obj_locked`: track the object (growing the array by a page of pointers when full). */
  private objLocked(obj: DrmGemObject): number {
    if (this.objects.length >= this.maxObjects) {
      if (!kvmalloc(this.kernel, (this.maxObjects + 512) * 8, GFP_KERNEL, 'drm_exec_obj_locked'))
        return -Errno.ENOMEM;
      this.maxObjects += 512;
    }
    this.objects.push(obj.get());
    return 0;
  }

  private unlockAll(): void {
    for (let i = this.objects.length - 1; i >= 0; i--) {
      const obj = this.objects[i]!;
      obj.resv.unlock();
      obj.put();
    }
    this.objects.length = 0;
    this.prelocked?.put();
    this.prelocked = null;
  }
}
