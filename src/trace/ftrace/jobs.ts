/**
 * The trace normaliser's jobs: how a scheduler event finds the job it is
 * about. 6.17 events name the job's finished fence (`context:seqno`);
 * legacy ones name a per-scheduler id (queue, run) and a fence pointer
 * that is reused after free (run, done), so the legacy maps pair them in
 * order. The normaliser decides when a job is made, found or forgotten;
 * this file holds the records and the maps they are found in, and how a
 * finished fence's text is keyed.
 *
 * @kernel none: the trace reader's pairing of drm_sched_job events (the kernel's
 *         struct drm_sched_job is not in the trace, only its fence and ids)
 */
import { Retirement, RetiringMap, RetiringPairMap } from '../../check/index.ts';
import type { SchedFence } from './payload.ts';

/** Done 6.17 jobs remembered at least this many completions. */
const KEEP_JOBS = 1 << 12;

/**
 * A job as the normaliser pairs its events (a class: one hidden class for all, see `FenceEntry`).
 *
 * @kernel none: the trace's view of a struct drm_sched_job
 */
export class JobRecord {
  queueNs = -1;
  runNs = -1;
  /** The generation of done jobs it joined (see `Retirement`), -1 while not done. */
  retired = -1;

  constructor(
    readonly id: number,
    public ring: string,
    public fence: string,
  ) {}
}

/** Decimal digits of a non-negative safe integer (powers of ten up to 10^16 are exact doubles). */
function decimalDigits(n: number): number {
  let d = 1;
  for (let p = 10; n >= p; p *= 10) d++;
  return d;
}

/**
 * `f.fence` is exactly its numbers in decimal (`context:seqno`, no leading
 * zeros, each a safe integer): the job is then found by the two numbers,
 * which is cheaper than by a string made per line; any other text (a
 * pointer, leading zeros, u64 values past 2^53) is found by the text, so
 * two texts are one job exactly when they are equal.
 */
function canonicalFence(f: SchedFence): boolean {
  return (
    f.numeric &&
    Number.isSafeInteger(f.context) &&
    Number.isSafeInteger(f.seqno) &&
    f.fence.length === decimalDigits(f.context) + 1 + decimalDigits(f.seqno)
  );
}

/**
 * The jobs of a trace: 6.17 jobs by finished fence; legacy by `ring/id`
 * and by fence pointer. Done 6.17 jobs stay (late events still find them)
 * for at least `KEEP_JOBS` later completions, forgotten a generation at a
 * time (`done.retire` when a job is done).
 *
 * @kernel none: the trace reader's pairing of drm_sched_job events
 */
export class JobTable {
  private nextJob = 1;
  /** The generations of done 6.17 jobs. */
  readonly done = new Retirement(KEEP_JOBS);
  /** By the numbers of a canonical `context:seqno` (see `canonicalFence`), else by the text. */
  private readonly jobsByNumber = new RetiringPairMap<number, JobRecord>(this.done);
  private readonly jobsByText = new RetiringMap<string, JobRecord>(this.done);
  /** Legacy jobs queued and not yet run, by `ring/id`. */
  readonly legacyById = new Map<string, JobRecord>();
  /** Legacy jobs run and not yet done, by fence pointer. */
  readonly legacyByPtr = new Map<string, JobRecord>();

  /** A new job (ids from 1, in order of appearance). */
  newJob(ring: string, fence: string): JobRecord {
    return new JobRecord(this.nextJob++, ring, fence);
  }

  /** The job of finished fence `f` (see `jobsByNumber`). */
  find(f: SchedFence): JobRecord | undefined {
    return canonicalFence(f)
      ? this.jobsByNumber.get(f.context, f.seqno)
      : this.jobsByText.get(f.fence);
  }

  /** Remember `job` as the job of finished fence `f`. */
  keep(f: SchedFence, job: JobRecord): void {
    if (canonicalFence(f)) this.jobsByNumber.set(f.context, f.seqno, job);
    else this.jobsByText.set(f.fence, job);
  }
}
