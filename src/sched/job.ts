import { DmaFenceCb } from '../fence/index.ts';
import type { DmaFence } from '../fence/index.ts';
import { Access, Errno, GFP_KERNEL, kmalloc, kzalloc, MemLoc, mightAlloc, U32_MAX, U64_MAX, wholeArg } from '../kernel/index.ts';
import type { Kernel } from '../kernel/index.ts';
import { drmSyncobjFindFence } from '../gem/index.ts';
import type { DrmFile } from '../gem/index.ts';
import { DmaResvIter, dmaResvUsageRw } from '../resv/index.ts';
import type { DmaResv, DmaResvUsage } from '../resv/index.ts';
import type { DrmSchedEntity, DrmGpuScheduler } from './forward.ts';
import type { DrmSchedEntityStats } from './rq.ts';
import { reportAddDependencyAfterArm, trackArmed, reportCleanupAfterArm, untrackArmed, reportDoubleArm } from './rules.ts';
import { DrmSchedFence } from './sched-fence.ts';
import { DrmSchedPriority } from './types.ts';

declare module './forward.ts' {
  /** The forward-declared `DrmSchedJob` of the files below this one is this class. */
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging: adds DrmSchedJob's members
  interface DrmSchedJob extends DrmSchedJobClass {}
}
/** The class, under a name the merged declaration above can extend. */
type DrmSchedJobClass = DrmSchedJob;

/**
 * A fence callback node that knows its job (`job->cb`, `job->finish_cb`).
 *
 * @kernel struct dma_fence_cb in struct drm_sched_job (cb, finish_cb)
 */
export class DrmSchedJobCb extends DmaFenceCb {
  constructor(readonly job: DrmSchedJob) {
    super();
  }
}

/** Anything with a reservation object (a GEM object) for `addImplicitDependencies`. */
export interface HasResv {
  readonly resv: DmaResv;
}

/**
 * `struct drm_sched_job`: one unit of work a driver submits through an
 * entity. Drivers subclass it (the kernel embeds it in the driver's job).
 *
 * Life: `init` (allocates the scheduler fence; may fail) → add dependencies →
 * `arm` (point of no return: the finished fence gets its seqno and may be
 * published) → `entity.pushJob(job)` → the scheduler runs it, signals its
 * fences and calls the driver's `freeJob`, which calls `cleanup`. Before arm
 * an error path calls `cleanup` alone.
 *
 * @kernel struct drm_sched_job, drm_sched_job_init, drm_sched_job_arm, drm_sched_job_cleanup (sched_main.c)
 */
export class DrmSchedJob {
  /** Set at arm; valid until `free_job` returns. */
  sched: DrmGpuScheduler | null = null;
  /** The scheduler fence; null before `init` and after `cleanup`. */
  sFence: DrmSchedFence | null = null;
  /** Set by `init`; null once the scheduler popped the job (must not be used afterwards). */
  entity: DrmSchedEntity | null = null;
  /** Priority of the entity at arm. */
  sPriority: DrmSchedPriority = DrmSchedPriority.NORMAL;
  /** Credits the job occupies while on the hardware. */
  credits = 0;
  /** `job->dependencies`: one fence per context (the xarray). */
  dependencies: DmaFence[] = [];
  /** Cursor into `dependencies` (`last_dependency`). */
  lastDependency = 0;
  /** Times the job was found guilty of a hang. */
  karma = 0;
  /** `submit_ts`: virtual time of the push, ns. */
  submitTsNs = 0;
  /**
   * Push order (per kernel): the FIFO key. The kernel keys FIFO by
   * `submit_ts`, which strictly increases between pushes; virtual time does
   * not, so the model orders by push sequence (the same order).
   */
  submitSeq = 0;
  /** `job->id`, assigned at arm. */
  id = 0;
  /** Reference on the entity's stats (fair policy); jobs may outlive entities. */
  entityStats: DrmSchedEntityStats | null = null;
  /** @internal callback on the hardware fence (`job->cb`). */
  readonly cb = new DrmSchedJobCb(this);
  /** @internal callback used by entity kill (`job->finish_cb`). */
  readonly finishCb = new DrmSchedJobCb(this);
  /** @internal on the scheduler's pending list. */
  onPending = false;
  /** @internal pushed to its entity. */
  pushed = false;
  /** @internal the instrumented location of `job->s_fence` (with the race detector on). */
  private sFenceLoc: MemLoc | null = null;

  /**
   * Allocating the job (the driver's `kzalloc` of the struct embedding it).
   * With KASAN on the job is an object of its own: the scheduler frees it
   * when `free_job` returns, and any later use is a use after free.
   */
  constructor(readonly kernel: Kernel) {
    kernel.hb?.alloc(this, { what: 'struct drm_sched_job', size: 256, fn: 'kzalloc(job)' });
  }

  /**
   * @internal An instrumented access to `job->s_fence` (the field drivers
   * read through `finished` / `scheduled` and `cleanup` clears).
   */
  sFenceAccess(kind: typeof Access.READ | typeof Access.WRITE, fn: string | null): void {
    const k = this.kernel;
    const hb = k.hb;
    if (hb === null) return;
    const t = k.currentOrNull;
    if (t === null) return;
    const loc = (this.sFenceLoc ??= new MemLoc(`job->s_fence (${this.constructor.name})`, this, 8));
    hb.access(t, loc, kind, fn);
  }

  /** @internal A use of the whole job through the scheduler API (KASAN after `free_job`). */
  touch(fn: string, write: boolean): void {
    const k = this.kernel;
    const hb = k.hb;
    if (hb === null) return;
    const t = k.currentOrNull;
    if (t !== null) hb.touch(t, this, fn, write);
  }

  /**
   * `drm_sched_job_init`: bind to `entity` with `credits` (> 0) and allocate
   * the scheduler fence (GFP_KERNEL). Returns 0, `-ENOENT` (entity without a
   * run queue), `-EINVAL` (credits 0) or `-ENOMEM`. Process context. After
   * success the job must end with `cleanup` (error path before arm, or in
   * `free_job`).
   */
  init(entity: DrmSchedEntity, credits: number, owner: unknown = null, clientId = 0): number {
    this.touch('drm_sched_job_init', true);
    wholeArg('DrmSchedJob.init(entity, credits)', 'credits', credits, '(u32)', U32_MAX);
    if (!entity.rq) return -Errno.ENOENT;
    if (!credits) return -Errno.EINVAL;
    // memset(job, 0): drivers must not pre-set fields of the base.
    this.sched = null;
    this.dependencies = [];
    this.lastDependency = 0;
    this.karma = 0;
    this.pushed = false;
    this.onPending = false;
    this.entity = entity;
    this.credits = credits;
    if (!kzalloc(this.kernel, 192, GFP_KERNEL, 'drm_sched_fence_alloc')) return -Errno.ENOMEM;
    this.sFence = new DrmSchedFence(this.kernel, owner, clientId);
    return 0;
  }

  /** The job's `finished` fence (after arm): the fence drivers publish. Reads `job->s_fence`. */
  get finished(): DmaFence {
    this.sFenceAccess(Access.READ, null);
    return this.requireFence('finished').finished;
  }

  /** The job's `scheduled` fence (after arm). Reads `job->s_fence`. */
  get scheduled(): DmaFence {
    this.sFenceAccess(Access.READ, null);
    return this.requireFence('scheduled').scheduled;
  }

  /** True once armed. */
  get armed(): boolean {
    return this.sFence?.armed ?? false;
  }

  /**
   * `drm_sched_job_add_dependency`: consume a reference to `fence` (null →
   * 0). Keeps one fence per context: a same-context fence replaces the
   * stored one if it is later, else is dropped. Adding to an armed job is a
   * WARN (`sched.add_dependency_after_arm`) and `-EINVAL` (Brost's 2025
   * patch). `-ENOMEM` when the array cannot grow. Process context.
   */
  addDependency(fence: DmaFence | null): number {
    if (!fence) return 0;
    if (this.sched) {
      reportAddDependencyAfterArm(this, fence);
      fence.put();
      return -Errno.EINVAL;
    }
    const deps = this.dependencies;
    for (let i = 0; i < deps.length; i++) {
      const entry = deps[i]!;
      if (entry.context !== fence.context) continue;
      if (fence.isLater(entry)) {
        entry.put();
        deps[i] = fence;
      } else {
        fence.put();
      }
      return 0;
    }
    // xa_alloc(GFP_KERNEL): a new node every XA_CHUNK_SIZE entries.
    const k = this.kernel;
    if (deps.length % 64 === 0) {
      if (!kmalloc(k, 576, GFP_KERNEL, 'xa_alloc')) {
        fence.put();
        return -Errno.ENOMEM;
      }
    } else {
      mightAlloc(k, GFP_KERNEL);
    }
    deps.push(fence);
    return 0;
  }

  /**
   * `drm_sched_job_add_resv_dependencies`: add every fence of `resv` with
   * usage `usage` or stronger, signalled ones included (the locked walk).
   * The resv lock must be held. Stops at the first error.
   */
  addResvDependencies(resv: DmaResv, usage: DmaResvUsage): number {
    resv.assertHeld('drm_sched_job_add_resv_dependencies');
    const it = new DmaResvIter(resv, usage);
    for (let f = it.first(); f; f = it.next()) {
      const ret = this.addDependency(f.get());
      if (ret) return ret;
    }
    return 0;
  }

  /**
   * `drm_sched_job_add_implicit_dependencies`: the object's resv with usage
   * READ for a writer (wait for readers and writers) or WRITE for a reader.
   * Call after locking the reservations, before adding the job's own fence.
   */
  addImplicitDependencies(obj: HasResv, write: boolean): number {
    return this.addResvDependencies(obj.resv, dmaResvUsageRw(write));
  }

  /**
   * `drm_sched_job_add_syncobj_dependency(job, file, handle, point)`: the
   * fence of syncobj `handle` at `point` (0: its current fence) becomes a
   * dependency. Found without waiting (no WAIT_FOR_SUBMIT): `-ENOENT` for an
   * unknown handle, `-EINVAL` when the syncobj has no fence for the point
   * yet, so a submission that depends on work not yet submitted fails.
   * `point` is a u32 in the kernel's signature. Process context.
   *
   * @kernel drm_sched_job_add_syncobj_dependency
   */
  async addSyncobjDependency(file: DrmFile, handle: number, point: number): Promise<number> {
    wholeArg('DrmSchedJob.addSyncobjDependency(file, handle, point)', 'handle', handle, '(u32)', U32_MAX);
    wholeArg('DrmSchedJob.addSyncobjDependency(file, handle, point)', 'point', point, '(u64)', U64_MAX);
    const p = { fence: null as DmaFence | null };
    const ret = await drmSyncobjFindFence(file, handle, point >>> 0, 0, p);
    if (ret) return ret;
    return this.addDependency(p.fence);
  }

  /** `drm_sched_job_has_dependency`: `fence` is one of the stored dependencies (identity). */
  hasDependency(fence: DmaFence): boolean {
    return this.dependencies.includes(fence);
  }

  /**
   * `drm_sched_job_arm`: the point of no return. Picks the scheduler (load
   * balancing), records the priority, numbers the job and initialises its
   * fences (context per entity, next seqno). The finished fence may be
   * published from here; the job must be pushed. Arm and push must be done
   * under one per-entity lock so that push order is seqno order.
   */
  arm(): void {
    const entity = this.entity;
    this.touch('drm_sched_job_arm', true);
    if (!entity || !this.sFence) throw new Error('drm_sched_job_arm: the job was not initialised (drm_sched_job_init) or was already cleaned up');
    if (this.sFence.armed) {
      reportDoubleArm(this);
      return;
    }
    entity.selectRq();
    const sched = entity.rq!.sched;
    this.sched = sched;
    this.sPriority = entity.priority;
    this.entityStats = entity.stats;
    this.id = ++sched.jobIdCount;
    this.sFence.init(sched, entity.fenceContext, ++entity.fenceSeq);
    trackArmed(this);
  }

  /**
   * `drm_sched_job_cleanup`: drop the job's finished-fence reference (armed)
   * or free the unarmed scheduler fence, then every dependency. From
   * `free_job`, or from an error path before arm. Cleaning up an armed job
   * that was never pushed is reported (`sched.job_not_pushed`): its fence
   * was published and will never signal.
   */
  cleanup(): void {
    this.sFenceAccess(Access.WRITE, 'drm_sched_job_cleanup');
    const s = this.sFence;
    if (s) {
      if (s.armed) {
        if (!this.pushed) reportCleanupAfterArm(this);
        untrackArmed(this);
        s.finished.put();
      }
      this.sFence = null;
    }
    for (const f of this.dependencies) f.put();
    this.dependencies = [];
    this.entityStats = null;
  }

  private requireFence(what: string): DrmSchedFence {
    if (!this.sFence) throw new Error(`drm_sched_job.${what}: the job has no scheduler fence (not initialised, or cleaned up)`);
    return this.sFence;
  }

  toString(): string {
    const s = this.sFence;
    return s?.armed ? `job ${this.id} (${s.finished.context}:${s.finished.seqno})` : `job (unarmed)`;
  }
}

/** `drm_sched_job_done_cb`: the hardware fence signalled (signaller's context, fence lock held). */
export function jobDoneCb(f: DmaFence, cb: DmaFenceCb): void {
  if (!(cb instanceof DrmSchedJobCb)) return;
  const job = cb.job;
  job.sched!.jobDone(job, f.error);
}
