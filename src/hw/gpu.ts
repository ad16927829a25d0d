import { DmaFence, dmaFenceContextAlloc } from '../fence/index.ts';
import type { DmaFenceOps } from '../fence/index.ts';
import { Errno, GFP_KERNEL, IRQ_HANDLED, IRQ_NONE, kzalloc, Mutex, requestIrq, SpinLock, wholeArg } from '../kernel/index.ts';
import type { IrqReturn, Kernel } from '../kernel/index.ts';
import { DrmGpuScheduler, DrmGpuSchedStat, DrmSchedEntity, DrmSchedJob, DrmSchedPriority } from '../sched/index.ts';
import type { DrmSchedBackendOps, DrmSchedPolicy } from '../sched/index.ts';
import { Engine, seqno32Completed } from './engine.ts';
import type { EngineCommand } from './engine.ts';

/**
 * The hardware fence of a GPU job: initialised in `run_job` on storage
 * allocated at job creation, signalled from the interrupt when the engine's
 * 32-bit seqno passes it.
 *
 * @kernel struct xe_hw_fence (drivers/gpu/drm/xe/xe_hw_fence.c)
 */
export class GpuHwFence extends DmaFence {
  cmd: EngineCommand | null = null;
  constructor(
    k: Kernel,
    readonly dev: GpuDevice,
    seqno: number,
  ) {
    super(k, dev.hwFenceOps, dev.fenceLock, dev.fenceContext, seqno);
  }
}

/**
 * A GPU job: run `durationNs` on the engine (or hang).
 *
 * @kernel none: a reference driver's job (the struct embedding struct drm_sched_job, as struct xe_sched_job does)
 */
export class GpuJob extends DrmSchedJob {
  durationNs = 0;
  hang = false;
  /** The hardware fence once run (the driver's reference). */
  hwFence: GpuHwFence | null = null;
}

/** Options of a `GpuDevice`. */
export interface GpuDeviceOptions {
  name: string;
  irq: number;
  ringSize?: number;
  /** First hardware seqno (signed or u32); -127 forces an early wrap, as xe's CI does. */
  initialSeqno?: number;
  /** Job timeout in ms (default 500). */
  timeoutMs?: number;
  policy?: DrmSchedPolicy;
  /**
   * How the driver decides a fence completed: `wrap32` (correct, the
   * modular 32-bit rule) or `u64` (the removed-SEQNO64 RFC's plain compare:
   * wrong once the 32-bit seqno wraps).
   */
  seqnoCompare?: 'wrap32' | 'u64';
}

/**
 * A GPU driver using the engine: one drm_sched scheduler per engine (credit
 * limit = ring size), hardware fences on a 32-bit seqno timeline signalled
 * from the completion interrupt, a timeout handler that resets a hung
 * engine (the hung job's fence completes with -ETIMEDOUT, later jobs go
 * on), and the `cancel_job` teardown path.
 *
 * @kernel none: a reference driver on drm_sched, after xe and amdgpu (their drm_sched_backend_ops)
 */
export class GpuDevice {
  readonly engine: Engine;
  readonly sched: DrmGpuScheduler;
  readonly fenceContext: number;
  /** The driver's fence lock (xe's irq lock): every hardware fence of the engine uses it. */
  readonly fenceLock: SpinLock;
  /** Serialises arm + push (`drm_sched_job_arm` and push under one lock). */
  readonly submitLock: Mutex;
  /** Next hardware seqno (u32). */
  nextSeqno: number;
  /** Hardware fences emitted and not yet signalled, oldest first. */
  readonly pendingFences: GpuHwFence[] = [];
  /** Seqnos in the order their fences signalled (for scenarios and tests). */
  readonly signalOrder: number[] = [];
  readonly hwFenceOps: DmaFenceOps<GpuHwFence>;
  private readonly compare: (seqno: number, hw: number) => boolean;

  constructor(
    readonly kernel: Kernel,
    readonly opts: GpuDeviceOptions,
  ) {
    const k = kernel;
    this.engine = new Engine(k, { name: opts.name, irq: opts.irq, ringSize: opts.ringSize ?? 64, initialSeqno: opts.initialSeqno ?? 1 });
    this.nextSeqno = this.engine.initialSeqno;
    this.fenceContext = dmaFenceContextAlloc(k, 1);
    this.engine.fenceContext = this.fenceContext;
    this.fenceLock = new SpinLock(k, `&${opts.name}->fence_lock`, { key: 'gpu.fence_lock' });
    this.submitLock = new Mutex(k, `&${opts.name}->submit_lock`, { key: 'gpu.submit_lock' });
    this.compare = opts.seqnoCompare === 'u64' ? (s, hw) => s <= hw : seqno32Completed;
    const engine = this.engine;
    this.hwFenceOps = {
      getDriverName: () => 'gpu',
      getTimelineName: () => opts.name,
      // xe_hw_fence_signaled: an error, or the seqno passed.
      signaled: (f) => f.error !== 0 || this.compare(f.seqno, engine.hwSeqno),
      inOrder: true,
      hwCompleted: (f) => f.cmd !== null && engine.isDone(f.cmd),
    };
    const ops: DrmSchedBackendOps<GpuJob> = {
      runJob: (job) => this.runJob(job),
      timedoutJob: (job) => this.timedoutJob(job),
      freeJob: (job) => {
        job.hwFence?.put();
        job.hwFence = null;
        job.cleanup();
      },
      cancelJob: (job) => {
        this.cancelJob(job);
      },
    };
    this.sched = new DrmGpuScheduler(k, {
      ops,
      name: opts.name,
      creditLimit: this.engine.ringSize,
      timeout: k.msecsToJiffies(opts.timeoutMs ?? 500),
      ...(opts.policy ? { policy: opts.policy } : {}),
    });
    this.engine.onAbort = (cmd) => {
      this.abortFence(cmd);
    };
    const r = requestIrq(k, opts.irq, () => this.irqHandler(), opts.name);
    if (r) throw new Error(`request_irq(${opts.irq}) failed: ${r}`);
  }

  /** A client context: an entity on the engine's scheduler. */
  createEntity(priority: DrmSchedPriority = DrmSchedPriority.NORMAL, name?: string): DrmSchedEntity {
    const e = new DrmSchedEntity(this.kernel);
    const r = e.init(priority, [this.sched], null, name);
    if (r) throw new Error(`drm_sched_entity_init: ${r}`);
    return e;
  }

  /**
   * Create a job (process context; allocates the job and the hardware
   * fence storage with GFP_KERNEL, before anything is armed). Returns the
   * job or a negative errno.
   */
  jobCreate(entity: DrmSchedEntity, durationNs: number, opts: { hang?: boolean } = {}): GpuJob | number {
    const k = this.kernel;
    wholeArg('Gpu.jobCreate(entity, durationNs)', 'durationNs', durationNs, 'of nanoseconds');
    if (!kzalloc(k, 256, GFP_KERNEL, 'gpu_job_create')) return -Errno.ENOMEM;
    if (!kzalloc(k, 64, GFP_KERNEL, 'gpu_hw_fence_alloc')) return -Errno.ENOMEM;
    const job = new GpuJob(k);
    const r = job.init(entity, 1);
    if (r) return r;
    job.durationNs = durationNs;
    job.hang = opts.hang ?? false;
    return job;
  }

  /**
   * Arm and push under the submit lock; returns a reference to the job's
   * finished fence (the fence the driver would publish). Process context.
   */
  async submit(job: GpuJob): Promise<DmaFence> {
    await this.submitLock.lock();
    job.arm();
    const fence = job.finished.get();
    job.entity!.pushJob(job);
    this.submitLock.unlock();
    return fence;
  }

  /** `run_job`: skip errored jobs; initialise the preallocated hardware fence and write the ring. */
  private runJob(job: GpuJob): DmaFence | null | number {
    if (job.finished.error) return null;
    const k = this.kernel;
    const seqno = this.nextSeqno;
    this.nextSeqno = (this.nextSeqno + 1) >>> 0;
    const f = new GpuHwFence(k, this, seqno);
    const cmd: EngineCommand = { seqno, durationNs: job.durationNs, hang: job.hang, tag: job };
    f.cmd = cmd;
    const fl = this.fenceLock.lockIrqsave();
    this.pendingFences.push(f);
    this.fenceLock.unlockIrqrestore(fl);
    const r = this.engine.submit(cmd);
    if (r) {
      const fl2 = this.fenceLock.lockIrqsave();
      this.pendingFences.splice(this.pendingFences.indexOf(f), 1);
      f.setError(r);
      f.signalLocked();
      this.fenceLock.unlockIrqrestore(fl2);
    }
    job.hwFence = f.get();
    return f;
  }

  /** The completion interrupt (hardirq): signal, in order, every fence the engine's seqno has passed. */
  private irqHandler(): IrqReturn {
    const fl = this.fenceLock.lockIrqsave();
    const hw = this.engine.hwSeqno;
    let n = 0;
    while (this.pendingFences.length > 0) {
      const f = this.pendingFences[0]!;
      if (!this.compare(f.seqno, hw)) break;
      this.pendingFences.shift();
      this.signalOrder.push(f.seqno);
      f.signalLocked();
      n++;
    }
    this.fenceLock.unlockIrqrestore(fl);
    return n > 0 ? IRQ_HANDLED : IRQ_NONE;
  }

  /** The engine reset itself and dropped `cmd`: its fence completes with -EIO (reset interrupt, hardirq). */
  private abortFence(cmd: EngineCommand): void {
    const fl = this.fenceLock.lockIrqsave();
    const f = this.pendingFences.find((x) => x.cmd === cmd);
    if (f) {
      this.pendingFences.splice(this.pendingFences.indexOf(f), 1);
      f.setError(-Errno.EIO);
      this.signalOrder.push(f.seqno);
      f.signalLocked();
    }
    this.fenceLock.unlockIrqrestore(fl);
  }

  /**
   * `timedout_job`: a job still making progress (its command is not the
   * hung one) is a false alarm (NO_HANG). Otherwise reset the engine: the
   * hung command is dropped and its fence completes with -ETIMEDOUT; the
   * engine goes on with the next commands. With RESET the job is the
   * driver's to clean up (it is off the pending list), as the KUnit mock does.
   */
  private timedoutJob(job: GpuJob): DrmGpuSchedStat {
    const f = job.hwFence;
    if (f && !f.signalled) {
      const cmd = f.cmd;
      if (!(cmd && this.engine.running === cmd && this.engine.hung)) return DrmGpuSchedStat.NO_HANG;
      const fl = this.fenceLock.lockIrqsave();
      this.engine.reset();
      const i = this.pendingFences.indexOf(f);
      if (i >= 0) this.pendingFences.splice(i, 1);
      f.setError(-Errno.ETIMEDOUT);
      this.signalOrder.push(f.seqno);
      f.signalLocked();
      this.fenceLock.unlockIrqrestore(fl);
    }
    f?.put();
    job.hwFence = null;
    job.cleanup();
    return DrmGpuSchedStat.RESET;
  }

  /**
   * `cancel_job` (from `drm_sched_fini`, newest job first): cancel, in ring
   * order, every pending fence up to this job's, so the timeline still
   * signals in order.
   */
  private cancelJob(job: GpuJob): void {
    const f = job.hwFence;
    if (!f || f.signalled) return;
    const fl = this.fenceLock.lockIrqsave();
    while (this.pendingFences.length > 0) {
      const g = this.pendingFences.shift()!;
      g.setError(-Errno.ECANCELED);
      this.signalOrder.push(g.seqno);
      g.signalLocked();
      if (g === f) break;
    }
    this.fenceLock.unlockIrqrestore(fl);
  }

  /** Tear down: the scheduler (entities must be destroyed first). Process context. */
  async fini(): Promise<void> {
    await this.sched.fini();
  }
}
