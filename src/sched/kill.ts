/**
 * Completing the queued jobs of a killed entity without running them.
 *
 * @kernel drm_sched_entity_kill, drm_sched_entity_kill_jobs_cb, drm_sched_entity_kill_jobs_work (sched_entity.c, with the Nov 2025 fix 487df8b69834)
 */
import type { DmaFence, DmaFenceCb } from '../fence/index.ts';
import { Errno, scheduleWork, WorkStruct } from '../kernel/index.ts';
import type { DrmSchedEntity } from './forward.ts';
import type { DrmSchedJob } from './job.ts';
import { DrmSchedJobCb } from './job.ts';
import { isScheduledFence, toDrmSchedFence } from './sched-fence.ts';

const killWorks = new WeakMap<DrmSchedJob, WorkStruct>();

function killWork(job: DrmSchedJob): WorkStruct {
  let w = killWorks.get(job);
  if (!w) {
    w = new WorkStruct(job.kernel, () => killJobsWork(job), `drm_sched_entity_kill_jobs_work(${job.id})`, { key: 'drm_sched_entity_kill_jobs_work' });
    killWorks.set(job, w);
  }
  return w;
}

/**
 * Wait for the next remaining dependency of a killed job: a `scheduled`
 * dependency is upgraded to its `finished` fence (so data is not corrupted
 * by a job still running); true when a callback was installed.
 */
function addNextDependencyCb(job: DrmSchedJob): boolean {
  const deps = job.dependencies;
  while (deps.length > 0) {
    let f: DmaFence | null = deps.shift()!;
    if (isScheduledFence(f)) {
      const s = toDrmSchedFence(f)!;
      const fin = s.finished.getRcu();
      f.put();
      f = fin;
    }
    if (f && f.addCallback(job.finishCb, killJobsCb) === 0) return true;
    f?.put();
  }
  return false;
}

/**
 * `drm_sched_entity_kill_jobs_cb`: the previous job's finished fence (or a
 * dependency) signalled. Since v6.18 it only schedules the work: adding the
 * next dependency's callback here, inside a fence callback, took a
 * non-IRQ-safe lock in IRQ context and could self-deadlock on a fence lock
 * shared with the fence being signalled (the bug 487df8b69834 removed; the
 * `'v6.2-v6.17'` compat switch keeps the old behaviour).
 */
function killJobsCb(f: DmaFence | null, cb: DmaFenceCb): void {
  f?.put();
  if (!(cb instanceof DrmSchedJobCb)) return;
  const job = cb.job;
  if (job.sched?.compat.killJobsCb === 'v6.2-v6.17') {
    if (addNextDependencyCb(job)) return;
    scheduleWork(killTailWork(job));
    return;
  }
  scheduleWork(killWork(job));
}

/**
 * `drm_sched_entity_kill_jobs_work` (system queue): wait in turn for each
 * remaining dependency; when none is left, signal `scheduled`, then
 * `finished` with -ESRCH, and free.
 */
async function killJobsWork(job: DrmSchedJob): Promise<void> {
  if (addNextDependencyCb(job)) return;
  await finishKilledJob(job);
}

const tailWorks = new WeakMap<DrmSchedJob, WorkStruct>();

/** The v6.2-v6.17 work: only the signalling and freeing (dependencies were handled in the callback). */
function killTailWork(job: DrmSchedJob): WorkStruct {
  let w = tailWorks.get(job);
  if (!w) {
    w = new WorkStruct(job.kernel, () => finishKilledJob(job), `drm_sched_entity_kill_jobs_work(${job.id})`, { key: 'drm_sched_entity_kill_jobs_work' });
    tailWorks.set(job, w);
  }
  return w;
}

async function finishKilledJob(job: DrmSchedJob): Promise<void> {
  const s = job.sFence!;
  s.fenceScheduled(null);
  s.fenceFinished(-Errno.ESRCH);
  if (s.parent) {
    job.kernel.splat({ rule: 'sched.kill_job_with_parent', severity: 'warn', headline: 'WARNING: drm_sched_entity_kill_jobs_work: WARN_ON(job->s_fence->parent)' });
  }
  await job.sched!.callFreeJob(job, false);
}

/**
 * The tail of `drm_sched_entity_kill`: pop every queued job and chain their
 * termination so they complete in order, the first after `last_scheduled`.
 */
export function killEntityJobs(entity: DrmSchedEntity): void {
  let prev: DmaFence | null = entity.lastScheduled?.get() ?? null;
  for (let job = entity.jobQueue.pop(); job; job = entity.jobQueue.pop()) {
    entity.kernel.hb?.acquire(entity.kernel.currentOrNull, job);
    const finished = job.finished.get();
    if (!prev || prev.addCallback(job.finishCb, killJobsCb) !== 0) {
      prev?.put();
      killJobsCb(null, job.finishCb);
    }
    prev = finished;
  }
  prev?.put();
}
