import { DmaFence, dmaFenceContextAlloc } from '../fence/index.ts';
import type { DmaFenceOps } from '../fence/index.ts';
import {
  Errno,
  GFP_KERNEL,
  IRQ_WAKE_THREAD,
  IRQF_ONESHOT,
  IRQ_HANDLED,
  kzalloc,
  msleep,
  Mutex,
  requestThreadedIrq,
  SpinLock,
} from '../kernel/index.ts';
import type { Kernel } from '../kernel/index.ts';
import type { DmaResv } from '../resv/index.ts';
import { DrmGpuScheduler, DrmGpuSchedStat, DrmSchedEntity, DrmSchedJob, DrmSchedPriority } from '../sched/index.ts';
import type { DrmSchedBackendOps } from '../sched/index.ts';
import { Engine } from './engine.ts';
import { RuntimePm } from './runtime-pm.ts';

/** A buffer object the NPU reads or writes (a GEM object: size and reservation object). */
export interface NpuBo {
  readonly size: number;
  readonly resv: DmaResv;
  readonly name: string;
}

/** `ETHOSU_MAX_REGIONS`, and the region the SRAM scratch uses. */
export const NPU_MAX_REGIONS = 8;
export const NPU_SRAM_REGION = 2;

/**
 * An NPU job: the regions it uses, its preallocated done fence, and the references it holds.
 *
 * @kernel struct ethosu_job (drivers/accel/ethosu/ethosu_job.h)
 */
export class NpuJob extends DrmSchedJob {
  regions: (NpuBo | null)[] = [];
  outputs: number[] = [];
  durationNs = 0;
  hang = false;
  /** Storage for the done fence was allocated at submit (v6) — or not (v5: allocated in run_job). */
  fenceStorage = false;
  /** The hardware done fence, initialised in run_job. */
  doneFence: DmaFence | null = null;
  /** `kref`: the ioctl's and the scheduler's references. */
  refs = 1;
  /** A runtime-PM reference is held for the job's lifetime (taken at submit). */
  pmHeld = false;
  /** Released (last reference dropped). */
  released = false;
}

/** One open file of the NPU: its entity. */
export interface NpuFile {
  readonly entity: DrmSchedEntity;
  readonly clientId: number;
}

/** Options of an `EthosuDevice`. */
export interface EthosuOptions {
  name?: string;
  irq: number;
  /** SRAM scratch size (0 = none). */
  sramSize?: number;
  /** Job timeout in ms (default 500). */
  timeoutMs?: number;
  /** Runtime-PM autosuspend delay in ms (default 50). */
  autosuspendDelayMs?: number;
}

/**
 * An NPU in the shape of the Arm Ethos-U driver (accel/ethosu): one command
 * queue behind drm_sched with credit limit 1 and a 500 ms timeout, a threaded
 * completion interrupt, runtime PM with a 50 ms autosuspend whose resume
 * allocates and takes a lock, and the October 2025 v6 submit flow (see
 * `npuSubmit`). The driver's job callbacks (`allocDoneFence`,
 * `pmGetForJob`, `runJob`, `jobDone`) are methods a scenario overrides to write an older or a buggy
 * driver (the v5 submit path moved allocation and runtime-PM resume into
 * `run_job`, inside the fence signalling path), so the buggy call sits in
 * the scenario's own file.
 *
 * @kernel drivers/accel/ethosu/ethosu_job.c (v6, Oct 2025)
 */
export class EthosuDevice {
  readonly name: string;
  readonly engine: Engine;
  readonly sched: DrmGpuScheduler;
  readonly pm: RuntimePm;
  readonly fenceContext: number;
  readonly fenceLock: SpinLock;
  /** `job_lock`: shared by run_job and the IRQ thread. */
  readonly jobLock: Mutex;
  /** `sched_lock`: arm + push. */
  readonly schedLock: Mutex;
  /** Taken by the PM callbacks (clock and register setup). */
  readonly hwLock: Mutex;
  emitSeqno = 0;
  inFlight: NpuJob | null = null;
  readonly sramSize: number;
  private clients = 0;
  private readonly doneOps: DmaFenceOps;

  constructor(
    readonly kernel: Kernel,
    readonly opts: EthosuOptions,
  ) {
    const k = kernel;
    this.name = opts.name ?? 'ethosu';
    this.sramSize = opts.sramSize ?? 0;
    this.engine = new Engine(k, { name: this.name, irq: opts.irq, ringSize: 1 });
    this.engine.powered = false;
    this.fenceContext = dmaFenceContextAlloc(k, 1);
    this.engine.fenceContext = this.fenceContext;
    this.fenceLock = new SpinLock(k, `&${this.name}->fence_lock`, { key: 'ethosu.fence_lock' });
    this.jobLock = new Mutex(k, `&${this.name}->job_lock`, { key: 'ethosu.job_lock' });
    this.schedLock = new Mutex(k, `&${this.name}->sched_lock`, { key: 'ethosu.sched_lock' });
    this.hwLock = new Mutex(k, `&${this.name}->hw_lock`, { key: 'ethosu.hw_lock' });
    const engine = this.engine;
    this.doneOps = { getDriverName: () => 'ethosu', getTimelineName: () => this.name, inOrder: true };
    this.pm = new RuntimePm(
      k,
      this.name,
      {
        // Clocks and register init; saving state allocates (the reason resume must stay out of run_job).
        resume: async () => {
          await this.hwLock.lock();
          const state = kzalloc(k, 512, GFP_KERNEL, 'ethosu_resume_state');
          engine.powered = true;
          this.hwLock.unlock();
          return state ? 0 : -Errno.ENOMEM;
        },
        suspend: async () => {
          await this.hwLock.lock();
          if (engine.running) engine.reset();
          engine.powered = false;
          this.hwLock.unlock();
          return 0;
        },
      },
      { autosuspendDelayMs: opts.autosuspendDelayMs ?? 50 },
    );
    const ops: DrmSchedBackendOps<NpuJob> = {
      runJob: (job) => this.runJob(job),
      timedoutJob: (job) => this.timedoutJob(job),
      freeJob: (job) => {
        job.cleanup();
        this.jobPut(job);
      },
    };
    this.sched = new DrmGpuScheduler(k, { ops, name: this.name, creditLimit: 1, timeout: k.msecsToJiffies(opts.timeoutMs ?? 500) });
    const r = requestThreadedIrq(k, opts.irq, () => IRQ_WAKE_THREAD, () => this.irqThread(), this.name, { flags: IRQF_ONESHOT });
    if (r) throw new Error(`request_threaded_irq(${opts.irq}): ${r}`);
  }

  /** `ethosu_open`: a file with its own entity (normal priority). */
  open(): NpuFile {
    const entity = new DrmSchedEntity(this.kernel);
    const r = entity.init(DrmSchedPriority.NORMAL, [this.sched], null, `${this.name}-file${this.clients + 1}`);
    if (r) throw new Error(`drm_sched_entity_init: ${r}`);
    return { entity, clientId: ++this.clients };
  }

  /** `ethosu_postclose`: destroy the file's entity. Process context. */
  async close(file: NpuFile): Promise<void> {
    await file.entity.destroy();
  }

  /** `kref_put(&job->refcount, ethosu_job_release)`: the last reference drops the PM reference. */
  jobPut(job: NpuJob): void {
    if (--job.refs > 0) return;
    job.released = true;
    job.doneFence?.put();
    job.doneFence = null;
    if (job.pmHeld) {
      job.pmHeld = false;
      this.pm.putAutosuspend();
    }
  }

  /**
   * Allocate the storage of a job's done fence at submit, right after the
   * job (v6: GFP_KERNEL here is fine, the submit ioctl is not in the fence
   * signalling path). Returns 0 or -ENOMEM. Process context.
   *
   * @kernel ethosu_ioctl_submit_job (the done-fence kzalloc)
   */
  allocDoneFence(job: NpuJob): number {
    if (!kzalloc(this.kernel, 64, GFP_KERNEL, 'ethosu_fence_alloc')) return -Errno.ENOMEM;
    job.fenceStorage = true;
    return 0;
  }

  /**
   * Take the runtime-PM reference a job holds until it is released, at
   * submit before `drm_sched_job_arm` (v6), resuming the device if needed.
   * Returns 0 or a negative errno (the submit unwinds). Process context.
   *
   * @kernel ethosu_job_push (pm_runtime_resume_and_get before arm)
   */
  async pmGetForJob(job: NpuJob): Promise<number> {
    const r = await this.pm.resumeAndGet();
    if (!r) job.pmHeld = true;
    return r;
  }

  /**
   * `ethosu_job_run` (v6): skip a job whose finished fence has an error,
   * then start it on the storage allocated at submit. Called by drm_sched's
   * run_job, inside a fence signalling section: nothing here may allocate
   * with reclaim or wait on a fence.
   *
   * @kernel ethosu_job_run
   */
  async runJob(job: NpuJob): Promise<DmaFence | null | number> {
    if (job.finished.error) return null;
    if (!job.fenceStorage) throw new Error('ethosu run_job: the job has no done-fence storage; allocDoneFence at submit or the runJob override must allocate it and set job.fenceStorage');
    return this.startJob(job);
  }

  /**
   * Start a job on the hardware: initialise its done fence with the next
   * seqno and, under `job_lock`, make it the in-flight job and kick the
   * engine. Returns a reference to the done fence, or a negative errno.
   *
   * @kernel ethosu_job_hw_submit
   */
  async startJob(job: NpuJob): Promise<DmaFence | number> {
    const seqno = ++this.emitSeqno;
    const fence = new DmaFence(this.kernel, this.doneOps, this.fenceLock, this.fenceContext, seqno);
    job.doneFence = fence;
    await this.jobLock.lock();
    this.inFlight = job;
    const r = this.engine.submit({ seqno, durationNs: job.durationNs, hang: job.hang, tag: job });
    this.jobLock.unlock();
    if (r) return r;
    return fence.get();
  }

  /**
   * Called by the IRQ thread after it signalled a job's done fence, outside
   * `job_lock` (v6: nothing; the PM reference goes with the job).
   *
   * @kernel ethosu_job_handle_irq (the tail after dma_fence_signal)
   */
  jobDone(_job: NpuJob): void {}

  /**
   * The IRQ thread: take the finished in-flight job under `job_lock`, then
   * signal its done fence (outside `job_lock`: signalling opens a fence
   * signalling section, and run_job takes `job_lock` inside one).
   */
  private async irqThread(): Promise<typeof IRQ_HANDLED> {
    await this.jobLock.lock();
    const job = this.inFlight;
    const done = job?.doneFence && this.engine.hwSeqno === job.doneFence.seqno ? job : null;
    if (done) this.inFlight = null;
    this.jobLock.unlock();
    if (done) {
      done.doneFence!.signal();
      this.jobDone(done);
    }
    return IRQ_HANDLED;
  }

  /**
   * `ethosu_job_timedout`: if the NPU is still running and makes progress
   * within 100 ms, a false alarm (NO_HANG). Otherwise stop the scheduler,
   * drop the in-flight job, reset by a forced runtime suspend + resume, and
   * restart (the hung job completes with -ECANCELED). Timeout queue.
   */
  private async timedoutJob(job: NpuJob): Promise<DrmGpuSchedStat> {
    const k = this.kernel;
    const engine = this.engine;
    if (engine.running && !engine.hung) {
      const rp = engine.readPointer;
      await msleep(k, 100);
      if (engine.readPointer !== rp || (engine.running && !engine.hung)) return DrmGpuSchedStat.NO_HANG;
    }
    await this.sched.stop(job);
    await this.jobLock.lock();
    this.inFlight = null;
    this.jobLock.unlock();
    await this.pm.forceSuspend();
    await this.pm.forceResume();
    this.sched.start(0);
    return DrmGpuSchedStat.RESET;
  }

  /** Tear down (files closed first). Process context. */
  async fini(): Promise<void> {
    await this.sched.fini();
  }
}
