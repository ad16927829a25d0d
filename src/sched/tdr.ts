/**
 * Timeouts (TDR), recovery and teardown of a drm_sched scheduler.
 *
 * @kernel drm_sched_job_timedout, drm_sched_suspend_timeout, drm_sched_resume_timeout, drm_sched_stop, drm_sched_start, drm_sched_resubmit_jobs, drm_sched_increase_karma, drm_sched_fini (sched_main.c)
 */
import { DmaFence } from '../fence/index.ts';
import { cancelDelayedWork, Errno, MAX_SCHEDULE_TIMEOUT, modDelayedWork } from '../kernel/index.ts';
import type { DrmSchedJob } from './job.ts';
import { reportFiniPendingJobs } from './rules.ts';
import { jobDoneCb } from './job.ts';
import type { DrmGpuScheduler } from './forward.ts';
import { DrmGpuSchedStat, DrmSchedPriority } from './types.ts';

/** `mod_delayed_work(sched->timeout_wq, &sched->work_tdr, delay)`. */
export function modDelayed(sched: DrmGpuScheduler, delayJiffies: number): void {
  modDelayedWork(sched.timeoutWq, sched.workTdr, delayJiffies);
}

/**
 * `drm_sched_start_timeout` (job_list_lock held): (re)arm the TDR for the
 * full timeout if there is a timeout and something is pending. Called at
 * every job start, so a continuously fed ring keeps pushing the deadline.
 */
export function drmSchedStartTimeout(sched: DrmGpuScheduler): void {
  if (sched.timeout !== MAX_SCHEDULE_TIMEOUT && sched.pendingList.length > 0) modDelayed(sched, sched.timeout);
}

/** `drm_sched_start_timeout_unlocked`. */
export function drmSchedStartTimeoutUnlocked(sched: DrmGpuScheduler): void {
  sched.jobListLock.lock();
  drmSchedStartTimeout(sched);
  sched.jobListLock.unlock();
}

/**
 * `drm_sched_suspend_timeout`: push the TDR out to `MAX_SCHEDULE_TIMEOUT`
 * (drivers use it while the hardware is known to be stalled for a good
 * reason, e.g. preempted or powered down) and return the jiffies that were
 * left, or the full timeout when none was pending or it was already due.
 * Any context.
 *
 * @kernel drm_sched_suspend_timeout
 */
export function drmSchedSuspendTimeout(sched: DrmGpuScheduler): number {
  const k = sched.kernel;
  const now = k.jiffies;
  const expires = sched.workTdr.expiresJiffies;
  const wasPending = modDelayedWork(sched.timeoutWq, sched.workTdr, MAX_SCHEDULE_TIMEOUT);
  return wasPending && expires > now ? expires - now : sched.timeout;
}

/**
 * `drm_sched_resume_timeout(sched, remaining)`: re-arm the TDR with
 * `remaining` jiffies, or cancel it when nothing is pending.
 *
 * @kernel drm_sched_resume_timeout
 */
export function drmSchedResumeTimeout(sched: DrmGpuScheduler, remaining: number): void {
  sched.jobListLock.lock();
  if (sched.pendingList.length === 0) cancelDelayedWork(sched.workTdr);
  else modDelayedWork(sched.timeoutWq, sched.workTdr, remaining);
  sched.jobListLock.unlock();
}

/**
 * `drm_sched_job_timedout` (timeout workqueue): take the oldest pending job
 * off the list (so the free worker cannot free it meanwhile) and ask the
 * driver. `NO_HANG` puts it back at the head; `RESET` leaves it to the
 * driver unless `stop` re-inserted it; a bad job that completed during
 * `stop` is freed here. Re-arms unless `ENODEV`.
 */
export async function drmSchedJobTimedout(sched: DrmGpuScheduler): Promise<void> {
  const k = sched.kernel;
  let status: DrmGpuSchedStat = DrmGpuSchedStat.RESET;
  sched.jobListLock.lock();
  const job = sched.pendingList.first();
  if (job) {
    sched.pendingList.remove(job);
    sched.jobListLock.unlock();
    status = await sched.ops.timedoutJob(job);
    if (k.events.active) {
      const f = job.sFence?.finishedFence;
      k.emit('sched-job-timeout', { sched: sched.name, job: job.id, fence: f ? `${f.context}:${f.seqno}` : '?', status });
    }
    if (sched.freeGuilty) {
      await sched.callFreeJob(job, false);
      sched.freeGuilty = false;
    }
    if (status === DrmGpuSchedStat.NO_HANG) {
      // drm_sched_job_reinsert_on_false_timeout
      sched.jobListLock.lock();
      sched.pendingList.addHead(job);
      sched.jobListLock.unlock();
      sched.runFreeQueue();
    }
  } else {
    sched.jobListLock.unlock();
  }
  if (status !== DrmGpuSchedStat.ENODEV) drmSchedStartTimeoutUnlocked(sched);
}

/**
 * `drm_sched_stop(sched, bad)`: stop both workers (waiting for them), put
 * `bad` back at the head of the pending list, then from newest to oldest:
 * detach still-running jobs from their hardware fence (dropping the parent
 * and the credits; they stay pending), and free jobs that already
 * completed (the bad one is only marked `free_guilty`). Cancels the TDR.
 * Process context (usually the timeout handler).
 */
export async function drmSchedStop(sched: DrmGpuScheduler, bad: DrmSchedJob | null): Promise<void> {
  await sched.wqueueStop();
  if (bad && bad.sched === sched && !bad.onPending) sched.pendingList.addHead(bad);
  const jobs = sched.pendingList.toArray().reverse();
  for (const job of jobs) {
    const s = job.sFence!;
    if (s.parent && s.parent.removeCallback(job.cb)) {
      s.parent.put();
      s.parent = null;
      sched.creditCount -= job.credits;
    } else {
      sched.jobListLock.lock();
      sched.pendingList.remove(job);
      sched.jobListLock.unlock();
      // Wait for the hardware fence callback to finish with the job.
      await s.finished.wait(false);
      if (job !== bad) await sched.callFreeJob(job, false);
      else sched.freeGuilty = true;
    }
  }
  cancelDelayedWork(sched.workTdr);
}

/**
 * `drm_sched_start(sched, errno)`: re-charge every pending job's credits;
 * jobs without a hardware fence complete with `errno` (or -ECANCELED), the
 * others get their completion callback back (completing at once if the
 * fence already signalled). Re-arms the timeout and restarts the workers.
 */
export function drmSchedStart(sched: DrmGpuScheduler, errno: number): void {
  for (const job of sched.pendingList.toArray()) {
    const fence = job.sFence!.parent;
    sched.creditCount += job.credits;
    if (!fence) {
      sched.jobDone(job, errno || -Errno.ECANCELED);
      continue;
    }
    if (fence.addCallback(job.cb, jobDoneCb) !== 0) sched.jobDone(job, fence.error || errno);
  }
  drmSchedStartTimeoutUnlocked(sched);
  sched.wqueueStart();
}

/**
 * `drm_sched_resubmit_jobs` (deprecated): call `run_job` again for every
 * pending job (scheduler stopped). The first job whose karma exceeds the
 * hang limit makes its context guilty: that context's jobs get -ECANCELED.
 * Deprecated upstream because it re-runs jobs whose fences are published
 * and may allocate during reset.
 */
export async function drmSchedResubmitJobs(sched: DrmGpuScheduler): Promise<void> {
  let guiltyContext: number | null = null;
  for (const job of sched.pendingList.toArray()) {
    const s = job.sFence!;
    if (guiltyContext === null && job.karma > sched.hangLimit) guiltyContext = s.scheduled.context;
    if (guiltyContext !== null && s.scheduled.context === guiltyContext) s.finished.setError(-Errno.ECANCELED);
    const fence = await sched.annotated(() => sched.ops.runJob(job));
    if (fence instanceof DmaFence) {
      s.parent = fence.get();
      fence.put();
    } else {
      if (typeof fence === 'number' && fence < 0) s.finished.setError(fence);
      s.parent = null;
    }
  }
}

/**
 * `drm_sched_increase_karma`: count a hang against `bad` (not for KERNEL
 * priority) and set the guilty flag of the entity that submitted it, found
 * by its fence context among the run queues' entities.
 */
export function drmSchedIncreaseKarma(bad: DrmSchedJob): void {
  const sched = bad.sched;
  if (!sched || bad.sPriority === DrmSchedPriority.KERNEL) return;
  bad.karma++;
  const ctx = bad.sFence!.scheduled.context;
  for (const rq of sched.rqs) {
    for (const entity of rq.entities) {
      if (entity.fenceContext !== ctx) continue;
      if (entity.guilty) entity.guilty.value = 1;
      return;
    }
  }
}

/** `drm_sched_invalidate_job`: `++karma > threshold`. @kernel drm_sched_invalidate_job */
export function drmSchedInvalidateJob(job: DrmSchedJob, threshold: number): boolean {
  return ++job.karma > threshold;
}

/**
 * `drm_sched_fini`: stop the workers; with `cancel_job`, cancel and free
 * every pending job newest first (the driver signals each hardware fence
 * with an error, which completes the job); wake flushers; cancel the TDR
 * synchronously; destroy an owned submit queue; WARN if jobs remain.
 * Entities must be destroyed first. Process context.
 */
export async function drmSchedFini(sched: DrmGpuScheduler): Promise<void> {
  await sched.wqueueStop();
  const ops = sched.ops;
  if (ops.cancelJob) {
    for (const job of sched.pendingList.toArray().reverse()) {
      await ops.cancelJob(job);
      sched.pendingList.remove(job);
      await sched.callFreeJob(job, false);
    }
  }
  sched.jobScheduled.wakeUpAll();
  await sched.destroyOwnedWq();
  sched.ready = false;
  if (sched.pendingList.length > 0) reportFiniPendingJobs(sched, sched.pendingList.length);
}
