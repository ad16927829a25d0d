import type { DmaFence } from '../fence/index.ts';
import type { Kernel } from '../kernel/index.ts';
import type { DrmSchedEntity, DrmSchedJob, DrmGpuScheduler } from './forward.ts';

/**
 * The drm_sched rule ids (explained in the checker's rule catalogue):
 *
 * - `sched.add_dependency_after_arm`: WARN_ON_ONCE in add_dependency on an
 *   armed job (Brost, Oct 2025); the call returns -EINVAL.
 * - `sched.job_not_pushed`: an armed job was cleaned up, or the run ended,
 *   without it being pushed; its finished fence never signals.
 * - `sched.job_double_arm`: `drm_sched_job_arm` twice on one job.
 * - `sched.push_without_arm`: `drm_sched_entity_push_job` on an unarmed job.
 * - `sched.push_to_killed_entity`: "Trying to push to a killed entity"; the
 *   job stays queued forever.
 * - `sched.credits_exceed_limit`: a job's credits exceed the scheduler's
 *   limit; truncated with a WARN so it can run.
 * - `sched.fini_pending_jobs`: "Tearing down scheduler while jobs are
 *   pending!" (drm_sched_fini without cancel_job, or jobs left).
 * - `sched.kill_job_with_parent`: a job completed by entity kill already had
 *   a hardware fence (WARN_ON in drm_sched_entity_kill_jobs_work).
 */
export const SCHED_RULES = [
  'sched.add_dependency_after_arm',
  'sched.job_not_pushed',
  'sched.job_double_arm',
  'sched.push_without_arm',
  'sched.push_to_killed_entity',
  'sched.credits_exceed_limit',
  'sched.fini_pending_jobs',
  'sched.kill_job_with_parent',
] as const;

const warnedOnce = new WeakMap<Kernel, Set<string>>();

function once(k: Kernel, key: string): boolean {
  let s = warnedOnce.get(k);
  if (!s) warnedOnce.set(k, (s = new Set()));
  if (s.has(key)) return false;
  s.add(key);
  return true;
}

function fenceLabel(f: DmaFence): string {
  return `${f.context}:${f.seqno}`;
}

/** @kernel WARN_ON_ONCE(job->sched) in drm_sched_job_add_dependency (Brost RFC 3/3) */
export function reportAddDependencyAfterArm(job: DrmSchedJob, fence: DmaFence): void {
  const k = job.kernel;
  if (!once(k, 'sched.add_dependency_after_arm')) return;
  k.splat({
    rule: 'sched.add_dependency_after_arm',
    severity: 'warn',
    headline: 'WARNING: drm_sched_job_add_dependency() on an armed job: WARN_ON_ONCE(job->sched)',
    body:
      `${job.toString()} was armed before fence ${fenceLabel(fence)} was added as a dependency.\n` +
      'drm_sched_job_arm() is the point of no return: collect every dependency (explicit, resv, implicit) before arming. ' +
      'The dependency is dropped and -EINVAL returned.',
    data: { job: job.id, context: fence.context, seqno: fence.seqno },
  });
}

interface ArmedState {
  readonly jobs: Set<DrmSchedJob>;
}

const armed = new WeakMap<Kernel, ArmedState>();

/** An armed job is tracked until it is pushed; the end of the run reports those never pushed. */
export function trackArmed(job: DrmSchedJob): void {
  const k = job.kernel;
  let st = armed.get(k);
  if (!st) {
    const s: ArmedState = { jobs: new Set() };
    st = s;
    armed.set(k, s);
    k.addEndCheck(() => {
      for (const j of s.jobs) reportNotPushed(j, 'the run ended');
      s.jobs.clear();
    });
  }
  st.jobs.add(job);
}

/** The job was pushed (or reported already). */
export function untrackArmed(job: DrmSchedJob): void {
  armed.get(job.kernel)?.jobs.delete(job);
}

/** `drm_sched_job_cleanup` on an armed job that was never pushed. */
export function reportCleanupAfterArm(job: DrmSchedJob): void {
  untrackArmed(job);
  reportNotPushed(job, 'drm_sched_job_cleanup() was called on it');
}

function reportNotPushed(job: DrmSchedJob, why: string): void {
  const f = job.sFence?.finishedFence ?? null;
  job.kernel.splat({
    rule: 'sched.job_not_pushed',
    severity: 'warn',
    headline: `WARNING: drm_sched job armed but never pushed: ${f ? `finished fence ${fenceLabel(f)} will never signal` : job.toString()}`,
    body:
      `${job.toString()} was armed (drm_sched_job_arm) and ${why} without drm_sched_entity_push_job().\n` +
      'Arming is the point of no return: the finished fence may already be published (resv, syncobj, sync_file) and only the scheduler signals it. ' +
      'Do everything that can fail (allocations, reservations, dependency collection) before arming, then push.',
    thread: why === 'the run ended' ? null : undefined,
    data: { job: job.id, ...(f ? { context: f.context, seqno: f.seqno } : {}) },
  });
}

/** Arming twice would re-initialise published fences. */
export function reportDoubleArm(job: DrmSchedJob): void {
  job.kernel.splat({
    rule: 'sched.job_double_arm',
    severity: 'warn',
    headline: `WARNING: drm_sched_job_arm() called twice on ${job.toString()}`,
    body: 'A job is armed exactly once, after all dependencies are added and before it is pushed.',
    data: { job: job.id },
  });
}

/** Pushing a job that was never armed: its fences have no context and the scheduler would oops. */
export function reportPushWithoutArm(job: DrmSchedJob): void {
  job.kernel.splat({
    rule: 'sched.push_without_arm',
    severity: 'bug',
    headline: 'BUG: kernel NULL pointer dereference: drm_sched_entity_push_job() on a job that was not armed',
    body: 'Call drm_sched_job_arm() (under the same lock as the push) before drm_sched_entity_push_job(). The job is not queued.',
  });
}

/** `DRM_ERROR("Trying to push to a killed entity\n")`. */
export function reportPushToKilledEntity(entity: DrmSchedEntity, job: DrmSchedJob): void {
  job.kernel.splat({
    rule: 'sched.push_to_killed_entity',
    severity: 'warn',
    headline: '[drm:drm_sched_entity_push_job] *ERROR* Trying to push to a killed entity',
    body:
      `${job.toString()} was pushed to entity ${entity.name} after drm_sched_entity_kill/fini; it stays queued and its finished fence never signals.\n` +
      'Stop submitting to an entity before destroying it.',
    data: { job: job.id, entity: entity.name },
  });
}

/** `drm_sched_can_queue`: WARN and truncate a job larger than the credit limit. */
export function reportCreditsExceedLimit(sched: DrmGpuScheduler, job: DrmSchedJob): void {
  const k = sched.kernel;
  if (!once(k, `sched.credits_exceed_limit:${sched.name}`)) return;
  k.splat({
    rule: 'sched.credits_exceed_limit',
    severity: 'warn',
    headline: `WARNING: drm_sched_can_queue: job credits (${job.credits}) exceed the credit limit (${sched.creditLimit}) of ${sched.name}`,
    body: 'The job is truncated to the credit limit so that it can make progress.',
    data: { job: job.id, credits: job.credits, limit: sched.creditLimit },
  });
}

/** `dev_warn(sched->dev, "Tearing down scheduler while jobs are pending!\n")`. */
export function reportFiniPendingJobs(sched: DrmGpuScheduler, pending: number): void {
  sched.kernel.splat({
    rule: 'sched.fini_pending_jobs',
    severity: 'warn',
    headline: `drm_sched ${sched.name}: Tearing down scheduler while jobs are pending!`,
    body:
      `${pending} job${pending > 1 ? 's were' : ' was'} still on the pending list at drm_sched_fini(). ` +
      'Implement cancel_job, or wait for all jobs (and destroy all entities) before tearing the scheduler down.',
    data: { sched: sched.name, pending },
  });
}
