/**
 * A small ring driver behind drm_sched for the job-lifetime scenarios: each
 * job carries a driver part (`priv`, a kmalloc'ed struct freed in
 * `free_job`), its hardware fence completes after its duration unless the
 * job hangs, and the scenario provides the timeout handler and `free_job`,
 * the two places where drivers keep or drop pointers to jobs.
 */
import { DmaFence, dmaFenceContextAlloc } from '../src/fence/index.ts';
import type { DmaFenceOps } from '../src/fence/index.ts';
import { HrTimer, kfree, kstruct, SpinLock } from '../src/kernel/index.ts';
import type { Kernel, KStruct } from '../src/kernel/index.ts';
import { DrmGpuScheduler, DrmGpuSchedStat, DrmSchedJob } from '../src/sched/index.ts';
import type { DrmSchedEntity } from '../src/sched/index.ts';

/** The driver's job: the scheduler job plus the driver's own struct. */
export class ToyJob extends DrmSchedJob {
  readonly priv: KStruct<{ seqno: number; hang: boolean }>;
  hw: DmaFence | null = null;
  constructor(k: Kernel, seqno: number, hang: boolean) {
    super(k);
    this.priv = kstruct(k, 'struct toy_job', { seqno, hang }, { name: `job${seqno}` });
  }
}

/** The ring: its lock (also the hardware fences' lock) and a pointer the driver keeps for diagnostics. */
export type ToyRing = KStruct<{ lock: SpinLock; lastDone: ToyJob | null; lastDoneSeqno: number }> & {
  sched: DrmGpuScheduler;
  readonly context: number;
};

const hwOps: DmaFenceOps = { getDriverName: () => 'toy', getTimelineName: () => 'ring0', inOrder: true };

/** What the scenario supplies: the timeout handler and `free_job`. */
export interface ToyRingOps {
  timedoutJob(ring: ToyRing, job: ToyJob): DrmGpuSchedStat;
  freeJob(ring: ToyRing, job: ToyJob): void;
}

/** The ring and its scheduler (timeout `timeoutMs`). Jobs run `durationMs` each. */
export function toyRing(k: Kernel, ops: ToyRingOps, timeoutMs: number, durationMs: number): ToyRing {
  const context = dmaFenceContextAlloc(k, 1);
  const base = kstruct(k, 'struct toy_ring', { lock: new SpinLock(k, 'ring->lock'), lastDone: null as ToyJob | null, lastDoneSeqno: 0 }, { name: 'ring' });
  const ring: ToyRing = Object.assign(base, { context, sched: null as unknown as DrmGpuScheduler });
  ring.sched = new DrmGpuScheduler(k, {
    name: 'ring0',
    creditLimit: 8,
    timeout: k.msecsToJiffies(timeoutMs),
    ops: {
      runJob: (job) => {
        const j = job as ToyJob;
        const hw = new DmaFence(k, hwOps, ring.lock, context, j.priv.seqno);
        j.hw = hw.get();
        if (!j.priv.hang) {
          // The completion interrupt: record the job as the last one done, then signal.
          const t = new HrTimer(k, () => {
            const fl = ring.lock.lockIrqsave();
            ring.lastDone = j;
            ring.lastDoneSeqno = j.priv.seqno;
            hw.signalLocked();
            ring.lock.unlockIrqrestore(fl);
            return 'norestart';
          }, 'soft', 'ring0-done');
          t.start(durationMs * 1e6);
        }
        return hw;
      },
      timedoutJob: (job) => ops.timedoutJob(ring, job),
      freeJob: (job) => {
        ops.freeJob(ring, job);
      },
    },
  });
  return ring;
}

/** Reset the hung job: complete its hardware fence with an error (ring lock held by the caller or not). */
export function toyForceComplete(ring: ToyRing, job: ToyJob, error: number): void {
  const hw = job.hw;
  if (!hw) return;
  const fl = ring.lock.lockIrqsave();
  if (!hw.signalled) {
    hw.setError(error);
    hw.signalLocked();
  }
  ring.lock.unlockIrqrestore(fl);
}

/**
 * What `free_job` (and a timeout handler that resets a job, which then
 * belongs to the driver) must do: drop the hardware fence, clean the
 * scheduler job up, free the driver's struct.
 */
export function toyJobRelease(k: Kernel, job: ToyJob): void {
  job.hw?.put();
  job.hw = null;
  job.cleanup();
  kfree(k, job.priv);
}

/** Create, arm and push a job; returns a reference to its finished fence. */
export function toySubmit(k: Kernel, entity: DrmSchedEntity, seqno: number, hang = false): DmaFence {
  const job = new ToyJob(k, seqno, hang);
  const r = job.init(entity, 1);
  if (r) throw new Error(`drm_sched_job_init: ${r}`);
  job.arm();
  const f = job.finished.get();
  entity.pushJob(job);
  return f;
}

export { DrmGpuSchedStat };
