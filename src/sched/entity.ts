import { dmaFenceContextAlloc, DmaFenceCb } from '../fence/index.ts';
import type { DmaFence } from '../fence/index.ts';
import { Completion, Errno, GFP_KERNEL, kzalloc, SpinLock, timeoutArg } from '../kernel/index.ts';
import type { Kernel } from '../kernel/index.ts';
import type { DrmSchedJob } from './job.ts';
import { killEntityJobs } from './kill.ts';
import { SpscQueue } from './queue.ts';
import { DrmSchedEntityStats } from './rq.ts';
import type { DrmSchedRq } from './rq.ts';
import { reportPushToKilledEntity, reportPushWithoutArm, untrackArmed } from './rules.ts';
import { DRM_SCHED_FENCE_DONT_PIPELINE, toDrmSchedFence } from './sched-fence.ts';
import { drmSchedPickBest } from './scheduler.ts';
import type { DrmGpuScheduler } from './scheduler.ts';
import { DRM_SCHED_PRIORITY_COUNT, MAX_WAIT_SCHED_ENTITY_Q_EMPTY_MS } from './types.ts';
import type { DrmSchedPriority } from './types.ts';

declare module './forward.ts' {
  /** The forward-declared `DrmSchedEntity` of the files below this one is this class. */
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging: adds DrmSchedEntity's members
  interface DrmSchedEntity extends DrmSchedEntityClass {}
}
/** The class, under a name the merged declaration above can extend. */
type DrmSchedEntityClass = DrmSchedEntity;

/** `entity->cb`: the callback on the dependency the head job waits for. */
class EntityDepCb extends DmaFenceCb {
  constructor(readonly entity: DrmSchedEntity) {
    super();
  }
}

/** A guilty flag shared by an entity and the driver (`atomic_t *guilty`). */
export interface GuiltyFlag {
  value: number;
}

const entityNames = new WeakMap<Kernel, number>();

const submitSeqs = new WeakMap<Kernel, number>();

function nextSubmitSeq(k: Kernel): number {
  const n = (submitSeqs.get(k) ?? 0) + 1;
  submitSeqs.set(k, n);
  return n;
}

/**
 * `struct drm_sched_entity`: a software queue of jobs, usually one per
 * userspace context, bound to one scheduler (or load-balanced over a list
 * until its first job runs). Jobs of one entity run strictly in push order;
 * the entity blocks on its head job's dependencies only.
 *
 * @kernel struct drm_sched_entity (include/drm/gpu_scheduler.h, sched_entity.c)
 */
export class DrmSchedEntity {
  /** Name for reports. */
  name: string;
  /** `entity->lock`: protects rq, priority and the scheduler list. */
  readonly lock: SpinLock;
  /** The run queue the entity currently belongs to. */
  rq: DrmSchedRq | null = null;
  /** Candidate schedulers; null once fixed on one scheduler. */
  schedList: DrmGpuScheduler[] | null = null;
  numSchedList = 0;
  priority: DrmSchedPriority = 2;
  /** First of two contexts: `scheduled` fences use it, `finished` fences `fenceContext + 1`. */
  fenceContext = 0;
  /** Seqno counter of the entity's fences. */
  fenceSeq = 0;
  /** The fence the head job is blocked on. */
  dependency: DmaFence | null = null;
  /** Optional guilty flag, set when one of its jobs hangs. */
  guilty: GuiltyFlag | null = null;
  /** Finished fence of the last job popped (a reference). */
  lastScheduled: DmaFence | null = null;
  /** Thread that pushed last (`last_user`, the group leader in the kernel). */
  lastUser: unknown = null;
  /** Set by kill: no more jobs run. */
  stopped = false;
  /** "The scheduler is not touching this entity"; starts completed. */
  readonly entityIdle: Completion;
  /** The job queue (spsc). */
  readonly jobQueue = new SpscQueue<DrmSchedJob>();
  /** Fair-policy accounting. */
  stats = new DrmSchedEntityStats();
  /** @internal run-queue tree position. */
  rqKey = 0;
  /** @internal tie-break sequence of the tree position. */
  rqSeq = 0;
  /** @internal heap index, -1 when not in the tree. */
  rqHeapIndex = -1;
  /** @internal out of the tree while blocked on a dependency. */
  rqParked = false;
  /** @internal */
  readonly depCb = new EntityDepCb(this);

  constructor(readonly kernel: Kernel) {
    // Per-kernel numbering, so names replay identically within one process.
    const n = (entityNames.get(kernel) ?? 0) + 1;
    entityNames.set(kernel, n);
    this.name = `entity#${n}`;
    this.lock = new SpinLock(kernel, '&entity->lock', { key: 'drm_sched_entity.lock' });
    this.entityIdle = new Completion(kernel, 'entity_idle');
  }

  /**
   * `drm_sched_entity_init`: bind to `schedList[0]`'s run queue (keeping the
   * list for load balancing when it has more than one scheduler), allocate
   * the two fence contexts. `-EINVAL` for an empty list, `-ENOMEM` when the
   * stats allocation fails. A priority beyond the scheduler's run queues is
   * clamped (legacy per-priority queues). Process context or setup.
   */
  init(priority: DrmSchedPriority, schedList: readonly DrmGpuScheduler[], guilty: GuiltyFlag | null = null, name?: string): number {
    if (schedList.length === 0 || !schedList[0]) return -Errno.EINVAL;
    if (priority < 0 || priority >= DRM_SCHED_PRIORITY_COUNT) throw new Error(`drm_sched_entity_init: priority ${priority} is not a drm_sched_priority`);
    if (this.kernel.currentOrNull && !kzalloc(this.kernel, 64, GFP_KERNEL, 'drm_sched_entity_stats_alloc')) return -Errno.ENOMEM;
    if (name) this.name = name;
    this.stats = new DrmSchedEntityStats();
    this.guilty = guilty;
    this.numSchedList = schedList.length;
    this.priority = priority;
    this.schedList = schedList.length > 1 ? [...schedList] : null;
    this.lastScheduled = null;
    this.rq = schedList[0].rqFor(priority);
    this.entityIdle.completeAll();
    this.fenceSeq = 0;
    this.fenceContext = dmaFenceContextAlloc(this.kernel, 2);
    this.stopped = false;
    return 0;
  }

  /** The scheduler of the current run queue. */
  get sched(): DrmGpuScheduler | null {
    return this.rq?.sched ?? null;
  }

  /**
   * `drm_sched_entity_modify_sched`: swap the candidate schedulers (takes
   * effect at the next arm with an idle entity). Callers serialise it against
   * arm/push.
   */
  modifySched(schedList: readonly DrmGpuScheduler[]): void {
    if (schedList.length === 0) throw new Error('drm_sched_entity_modify_sched: WARN_ON(!num_sched_list)');
    this.lock.lock();
    this.schedList = [...schedList];
    this.numSchedList = schedList.length;
    this.lock.unlock();
  }

  /** `drm_sched_entity_set_priority`: takes effect when the entity next joins a run queue. */
  setPriority(priority: DrmSchedPriority): void {
    this.lock.lock();
    this.priority = priority;
    this.lock.unlock();
  }

  /** `drm_sched_entity_error`: error of the last scheduled job's finished fence, or 0. */
  error(): number {
    return this.lastScheduled?.error ?? 0;
  }

  /**
   * `drm_sched_entity_select_rq` (from arm): with several candidate
   * schedulers, an empty queue and the last job finished, move to the least
   * loaded scheduler (`drm_sched_pick_best`). A single candidate fixes the
   * entity for good.
   */
  selectRq(): void {
    if (!this.schedList) return;
    if (this.jobQueue.length > 0) return;
    const last = this.lastScheduled;
    if (last && !last.signalled) return;
    this.lock.lock();
    const sched = drmSchedPickBest(this.schedList);
    if (sched) {
      const rq = sched.rqFor(this.priority);
      if (rq !== this.rq) {
        this.rq?.removeEntity(this);
        this.rq = rq;
      }
    }
    if (this.numSchedList === 1) this.schedList = null;
    this.lock.unlock();
  }

  /**
   * `drm_sched_entity_push_job`: queue an armed job. After this the job may
   * run and be freed at any moment: do not touch it. The first job of an
   * empty queue attaches the entity to its run queue and wakes the
   * scheduler; pushing to a killed entity is an error and the job is never
   * run. Process context (any, in fact: no sleeping).
   */
  pushJob(job: DrmSchedJob): void {
    job.touch('drm_sched_entity_push_job', true);
    if (job.entity !== this) throw new Error('drm_sched_entity_push_job: the job was initialised on another entity');
    if (!job.armed) {
      reportPushWithoutArm(job);
      return;
    }
    const k = this.kernel;
    job.pushed = true;
    untrackArmed(job);
    this.rq!.sched.scoreInc();
    this.lastUser = k.currentOrNull;
    job.submitTsNs = k.nowNs;
    job.submitSeq = nextSubmitSeq(k);
    if (k.events.wants('sched-job-queue')) this.traceQueue(job);
    // push → the run worker (spsc_queue_push is a full barrier): the job is published.
    k.hb?.release(k.currentOrNull, job);
    const first = this.jobQueue.push(job);
    if (!first) return;
    this.lock.lock();
    if (this.stopped) {
      this.lock.unlock();
      reportPushToKilledEntity(this, job);
      return;
    }
    const rq = this.rq!;
    rq.addEntity(this, job.submitSeq);
    this.lock.unlock();
    rq.sched.wakeup();
  }

  /** `trace_drm_sched_job_queue`, then `trace_drm_sched_job_add_dep` per stored dependency. */
  private traceQueue(job: DrmSchedJob): void {
    const k = this.kernel;
    const sched = this.rq!.sched;
    const fence = `${job.finished.context}:${job.finished.seqno}`;
    k.emit('sched-job-queue', {
      sched: sched.name,
      entity: this.name,
      job: job.id,
      fence,
      dev: sched.devName,
      jobCount: this.jobQueue.length,
      hwJobCount: sched.creditCount,
      clientId: job.sFence?.clientId ?? 0,
    });
    for (const d of job.dependencies)
      k.emit('sched-job-add-dep', { sched: sched.name, job: job.id, fence, depContext: d.context, depSeqno: d.seqno });
  }

  /** `drm_sched_entity_is_idle`: not attached, nothing queued, or stopped. */
  isIdle(): boolean {
    return this.rq === null || !this.rq.entities.has(this) || this.jobQueue.length === 0 || this.stopped;
  }

  /** `drm_sched_entity_is_ready`: something queued and no pending dependency. */
  isReady(): boolean {
    return this.jobQueue.length > 0 && this.dependency === null;
  }

  /**
   * `drm_sched_entity_pop_job` (run worker): walk the head job's
   * dependencies (stored ones in order, then `prepare_job` until it returns
   * null); the first unsignalled one blocks the entity (null returned, a
   * callback wakes the scheduler). Otherwise pop the job, mark it skipped
   * (-ECANCELED) if the entity is guilty, and make it `last_scheduled`.
   */
  async popJob(): Promise<DrmSchedJob | null> {
    const job = this.jobQueue.peek();
    if (!job) return null;
    const k = this.kernel;
    k.hb?.acquire(k.currentOrNull, job);
    const sched = this.rq!.sched;
    for (;;) {
      let dep: DmaFence | null;
      if (job.lastDependency < job.dependencies.length) {
        if (sched.compat.dependencyRelease === 'v5.16-v6.4') {
          // xa_erase: the job's reference moves to entity->dependency.
          dep = job.dependencies.splice(job.lastDependency, 1)[0]!;
        } else {
          // xa_load: kept for the kill path and drm_sched_job_cleanup; the entity borrows a reference.
          dep = job.dependencies[job.lastDependency++]!.get();
        }
      } else if (sched.ops.prepareJob) {
        dep = await sched.callPrepareJob(job, this);
      } else {
        dep = null;
      }
      if (!dep) break;
      this.dependency = dep;
      if (this.addDependencyCb(sched)) return null;
    }
    if (this.guilty?.value) job.finished.setError(-Errno.ECANCELED);
    this.lastScheduled?.put();
    this.lastScheduled = job.finished.get();
    this.jobQueue.pop();
    const next = this.jobQueue.peek();
    this.lock.lock();
    this.rq!.popEntity(this, next ? next.submitSeq : null);
    this.lock.unlock();
    job.entity = null;
    return job;
  }

  /**
   * `drm_sched_entity_add_dependency_cb`: ignore fences of this entity; for a
   * fence of the same scheduler (no error, not DONT_PIPELINE) wait only for
   * its `scheduled` fence; install the wake-up callback. True when blocked.
   */
  private addDependencyCb(sched: DrmGpuScheduler): boolean {
    let fence = this.dependency!;
    if (fence.context === this.fenceContext || fence.context === this.fenceContext + 1) {
      fence.put();
      this.dependency = null;
      return false;
    }
    const sFence = toDrmSchedFence(fence);
    if (!fence.error && sFence && sFence.sched === sched && (fence.flags & DRM_SCHED_FENCE_DONT_PIPELINE) === 0) {
      const scheduled = sFence.scheduled.get();
      fence.put();
      fence = scheduled;
      this.dependency = fence;
    }
    if (fence.addCallback(this.depCb, entityWakeup) === 0) {
      const k = this.kernel;
      const job = this.jobQueue.peek();
      if (job && k.events.wants('sched-job-unschedulable'))
        k.emit('sched-job-unschedulable', {
          sched: sched.name,
          job: job.id,
          fence: `${job.finished.context}:${job.finished.seqno}`,
          depContext: fence.context,
          depSeqno: fence.seqno,
        });
      this.rq!.park(this);
      return true;
    }
    fence.put();
    this.dependency = null;
    return false;
  }

  /**
   * `drm_sched_entity_flush`: wait (killably, or up to `timeoutJiffies` when
   * the caller is exiting) for the entity to become idle; an exiting,
   * SIGKILLed last user kills it. Returns the remaining jiffies. Process
   * context. The model has no PF_EXITING: pass `exiting` (with `killed` for
   * SIGKILL) to take those paths.
   */
  async flush(timeoutJiffies: number, opts: { exiting?: boolean; killed?: boolean } = {}): Promise<number> {
    timeoutArg('DrmSchedEntity.flush(timeoutJiffies)', 'timeoutJiffies', timeoutJiffies);
    if (!this.rq) return 0;
    const sched = this.rq.sched;
    let ret = timeoutJiffies;
    if (opts.exiting) {
      if (timeoutJiffies) ret = await sched.jobScheduled.waitEventTimeout(() => this.isIdle(), timeoutJiffies);
    } else {
      // wait_event_killable: a signal ends the wait.
      await sched.jobScheduled.waitEventInterruptible(() => this.isIdle());
    }
    const me = this.kernel.current;
    const last = this.lastUser;
    if (last === me || last === null) this.lastUser = null;
    if ((last === null || last === me) && opts.exiting && opts.killed) await this.kill();
    return ret;
  }

  /**
   * `drm_sched_entity_kill`: stop the entity, leave the run queue, wait until
   * the scheduler no longer uses it, then complete every queued job without
   * running it: in order, each after the previous one's finished fence and
   * its own dependencies, with `scheduled` then `finished` (-ESRCH) signalled
   * and `free_job` called from a work item. Process context.
   */
  async kill(): Promise<void> {
    if (!this.rq) return;
    this.lock.lock();
    this.stopped = true;
    this.rq.removeEntity(this);
    this.lock.unlock();
    await this.entityIdle.waitForCompletion();
    this.entityIdle.completeAll();
    killEntityJobs(this);
  }

  /**
   * `drm_sched_entity_fini`: kill, drop a pending dependency callback and
   * `last_scheduled`. Process context.
   */
  async fini(): Promise<void> {
    await this.kill();
    const dep = this.dependency;
    if (dep) {
      dep.removeCallback(this.depCb);
      dep.put();
      this.dependency = null;
    }
    this.lastScheduled?.put();
    this.lastScheduled = null;
  }

  /** `drm_sched_entity_destroy`: flush with `MAX_WAIT_SCHED_ENTITY_Q_EMPTY` (1 s), then fini. */
  async destroy(): Promise<void> {
    await this.flush(this.kernel.msecsToJiffies(MAX_WAIT_SCHED_ENTITY_Q_EMPTY_MS));
    await this.fini();
  }

  toString(): string {
    return this.name;
  }
}

/**
 * `drm_sched_entity_wakeup`: the dependency signalled (fence callback,
 * signaller's context): clear it, drop it, wake the scheduler. Putting the
 * entity back in the tree is the model's bookkeeping of "dependency = NULL".
 */
function entityWakeup(f: DmaFence, cb: DmaFenceCb): void {
  if (!(cb instanceof EntityDepCb)) return;
  const entity = cb.entity;
  entity.dependency = null;
  f.put();
  const rq = entity.rq;
  if (!rq) return;
  rq.unpark(entity);
  rq.sched.wakeup();
}

/** `drm_sched_entity_push_job` as a function of the job, as the kernel spells it. @kernel drm_sched_entity_push_job */
export function drmSchedEntityPushJob(job: DrmSchedJob): void {
  if (!job.entity) throw new Error('drm_sched_entity_push_job: the job has no entity (not initialised, or already popped)');
  job.entity.pushJob(job);
}
