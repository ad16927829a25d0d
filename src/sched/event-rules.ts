/**
 * The rule book's drm_sched consumers, judged from `sched-job-*` and
 * `fence-*` events alone (runs of the model and `dmabuf-lab trace-check`):
 *
 * - `sched.job_out_of_order`: a job's events out of the queue → run → done
 *   order: done without run, run or queue again after done, done twice.
 *   Jobs first seen after their queue (the trace began later) are judged
 *   from what is seen; killed jobs (never run, never done) are fine.
 * - `sched.run_before_dependency`: a job ran while a dependency it was
 *   given (`add_dep`) or waited for (`unschedulable`) had not signalled. A
 *   dependency on another job of the same scheduler only needs that job to
 *   have run (drm_sched waits for its *scheduled* fence), and so does a
 *   dependency on a scheduled fence (context = the other job's finished
 *   context − 1); dependencies on the job's own entity are skipped, as the
 *   scheduler skips them. A dependency never seen initialised or signalled
 *   is not judged (it may have signalled before the trace began).
 *
 * Fence identities are compared on the low 32 bits of context and seqno
 * (dma_fence events print u32, drm_sched events u64).
 */
import { Retirement, RetiringPairMap } from '../check/index.ts';
import type { EventRule, EventRuleFactory, FindingSink } from '../check/index.ts';
import { seqnoIsLater } from '../fence/index.ts';
import type { KernelEvent } from '../kernel/index.ts';

interface Dep {
  readonly context: number;
  readonly seqno: number;
  readonly step: number;
  readonly via: 'add_dep' | 'unschedulable';
}

/** Shared by jobs without dependencies (replaced on the first one). */
const NO_DEPS: Dep[] = [];

/** A job as the rule follows it (a class: every job has one hidden class, so making one is a plain allocation). */
class Job {
  queued = -1;
  run = -1;
  done = -1;
  deps: Dep[] = NO_DEPS;
  /** The generation of done jobs it joined (see `Retirement`), -1 while not done. */
  retired = -1;

  constructor(
    readonly id: number,
    public sched: string,
    public fence: string,
    public fctx: number,
    public fseq: number,
  ) {}
}

/** What the rule knows about one fence context (u32), from its fence events. */
interface FenceContext {
  /**
   * Seqnos initialised and not since signalled or destroyed (a set of
   * seqnos: twins count once): a list while short, a `Set` past `SHORT`.
   */
  pending: number[];
  pendingSet: Set<number> | null;
  head: number | null;
  seqno64: boolean;
  /**
   * The latest `RECENT` distinct seqnos signalled, as a ring, -1 where none
   * yet (full from the start: no code path first runs when it fills, which
   * would make V8 throw away the optimised code of the rule's `event`).
   */
  readonly ring: number[];
  at: number;
  /**
   * How many ring entries fall in each bucket (`seqno % BUCKETS`): a ring
   * look-up only scans on a hit. One more bucket, `BUCKETS`, counts the
   * slots not yet filled.
   */
  readonly buckets: Uint16Array;
  /** The bucket of each ring slot (`BUCKETS` while empty). */
  readonly slotBucket: Uint16Array;
}

const RECENT = 256;
/** Twice `RECENT`: the latest `RECENT` consecutive seqnos never share a bucket with the next one. */
const BUCKETS = 512;
const SHORT = 16;
const KEEP_DONE = 1 << 12;

/** Context and seqno of a finished fence's text (`context:seqno`). */
function parseFence(f: string): [number, number] {
  // The usual `digits:digits` (each short enough to be exact) is read in place.
  let a = 0;
  let i = 0;
  const n = f.length;
  for (; i < n && i < 15; i++) {
    const c = f.charCodeAt(i);
    if (c < 48 || c > 57) break;
    a = a * 10 + (c - 48);
  }
  if (i > 0 && i < n && f.charCodeAt(i) === 58) {
    let b = 0;
    let j = i + 1;
    for (; j < n && j - i <= 15; j++) {
      const c = f.charCodeAt(j);
      if (c < 48 || c > 57) break;
      b = b * 10 + (c - 48);
    }
    if (j === n && j > i + 1) return [a, b];
  }
  const k = f.indexOf(':');
  return [Number(f.slice(0, k)), Number(f.slice(k + 1))];
}

function pendingHas(c: FenceContext, s: number): boolean {
  return c.pendingSet ? c.pendingSet.has(s) : c.pending.includes(s);
}

function pendingAdd(c: FenceContext, s: number): void {
  if (c.pendingSet) c.pendingSet.add(s);
  else if (!c.pending.includes(s)) {
    c.pending.push(s);
    if (c.pending.length > SHORT) {
      c.pendingSet = new Set(c.pending);
      c.pending = [];
    }
  }
}

function pendingDelete(c: FenceContext, s: number): void {
  if (c.pendingSet) {
    c.pendingSet.delete(s);
    if (c.pendingSet.size === 0) c.pendingSet = null;
    return;
  }
  const list = c.pending;
  const i = list.indexOf(s);
  if (i < 0) return;
  list[i] = list[list.length - 1]!;
  list.pop();
}

function recentHas(c: FenceContext, s: number): boolean {
  if (c.buckets[s % BUCKETS] === 0) return false;
  return c.ring.includes(s);
}

class SchedJobRule implements EventRule {
  readonly types = [
    'sched-job-queue',
    'sched-job-add-dep',
    'sched-job-unschedulable',
    'sched-job-run',
    'sched-job-done',
    'fence-init',
    'fence-signal',
    'fence-destroy',
  ] as const;
  /**
   * Jobs by scheduler, then job id (job ids are per scheduler), and by
   * finished fence: context (u32) → seqno (u32) → job. Done jobs stay
   * (late events, dependencies on them) for at least `KEEP_DONE` later
   * completions, forgotten a generation at a time (`Retirement`), so a
   * job's completion costs no map update.
   */
  private readonly done = new Retirement(KEEP_DONE);
  private readonly jobs = new RetiringPairMap<string, Job>(this.done);
  private readonly byFinished = new RetiringPairMap<number, Job>(this.done);
  private readonly fences = new Map<number, FenceContext>();

  constructor(private readonly sink: FindingSink) {}

  private fctx(context: number): FenceContext {
    const c = context >>> 0;
    let s = this.fences.get(c);
    if (!s) {
      s = {
        pending: [],
        pendingSet: null,
        head: null,
        seqno64: false,
        ring: new Array<number>(RECENT).fill(-1),
        at: 0,
        buckets: new Uint16Array(BUCKETS + 1).fill(RECENT, BUCKETS),
        slotBucket: new Uint16Array(RECENT).fill(BUCKETS),
      };
      this.fences.set(c, s);
    }
    return s;
  }

  private lookup(sched: string, job: number): Job | undefined {
    return this.jobs.get(sched, job);
  }

  private owner(context: number, seqno: number): Job | undefined {
    return this.byFinished.get(context >>> 0, seqno >>> 0);
  }

  private job(e: { job: number; sched: string; fence: string }): Job {
    let j = this.jobs.get(e.sched, e.job);
    if (!j) {
      const [fctx, fseq] = parseFence(e.fence);
      j = new Job(e.job, e.sched, e.fence, fctx, fseq);
      this.jobs.set(e.sched, e.job, j);
      this.byFinished.set(fctx >>> 0, fseq >>> 0, j);
    }
    return j;
  }

  event(e: KernelEvent): void {
    // Only `types` arrive here.
    // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check
    switch (e.type) {
      case 'fence-init': {
        const c = this.fctx(e.context);
        c.seqno64 = e.seqno64;
        pendingAdd(c, e.seqno >>> 0);
        break;
      }
      case 'fence-signal': {
        const c = this.fctx(e.context);
        const s = e.seqno >>> 0;
        pendingDelete(c, s);
        if (c.head === null || seqnoIsLater(false, s, c.head)) c.head = s;
        if (!recentHas(c, s)) {
          const at = c.at;
          const bucket = s % BUCKETS;
          c.buckets[c.slotBucket[at]!]!--;
          c.ring[at] = s;
          c.slotBucket[at] = bucket;
          c.buckets[bucket]!++;
          c.at = (at + 1) % RECENT;
        }
        break;
      }
      case 'fence-destroy': {
        const c = this.fences.get(e.context >>> 0);
        if (c) pendingDelete(c, e.seqno >>> 0);
        break;
      }
      case 'sched-job-queue': {
        const j = this.job(e);
        j.sched = e.sched;
        if (j.done >= 0 || j.run >= 0)
          this.order(
            j,
            e,
            `queued again after it ${j.done >= 0 ? 'completed' : 'ran'}`,
            j.done >= 0 ? j.done : j.run,
          );
        else j.queued = e.step;
        break;
      }
      case 'sched-job-add-dep':
      case 'sched-job-unschedulable': {
        const j = this.job(e);
        if (j.deps === NO_DEPS) j.deps = [];
        j.deps.push({
          context: e.depContext,
          seqno: e.depSeqno,
          step: e.step,
          via: e.type === 'sched-job-add-dep' ? 'add_dep' : 'unschedulable',
        });
        break;
      }
      case 'sched-job-run': {
        const j = this.job(e);
        j.sched = e.sched;
        if (j.done >= 0) this.order(j, e, 'ran again after it completed', j.done);
        this.checkDeps(j, e);
        if (j.run < 0) j.run = e.step;
        break;
      }
      case 'sched-job-done': {
        const j = this.lookup(e.sched, e.job);
        if (!j) return;
        if (j.done >= 0) this.order(j, e, 'completed twice', j.done);
        else if (j.run < 0 && j.queued >= 0)
          this.order(j, e, 'completed without being run', j.queued);
        if (j.done < 0) {
          j.done = e.step;
          j.deps = NO_DEPS;
          this.done.retire(j);
        }
        break;
      }
      default:
        break;
    }
  }

  private signalled(context: number, seqno: number): boolean | null {
    const c = this.fences.get(context >>> 0);
    if (!c) return null;
    const s = seqno >>> 0;
    if (pendingHas(c, s)) return false;
    if (c.head !== null && !seqnoIsLater(false, s, c.head)) return true;
    if (recentHas(c, s)) return true;
    return null;
  }

  /** Why `d` is not satisfied when `j` runs, or null when it is (or cannot be judged). */
  private unmet(j: Job, d: Dep): string | null {
    const ctx = d.context >>> 0;
    const own = j.fctx >>> 0;
    if (ctx === own || ctx === (own - 1) >>> 0) return null;
    const sig = this.signalled(d.context, d.seqno);
    if (sig === true) return null;
    const owner = this.owner(d.context, d.seqno);
    if (owner) {
      if (owner.sched === j.sched)
        return owner.run >= 0 ? null : `job ${owner.fence} on the same scheduler had not run yet`;
      return owner.done >= 0 ? null : `job ${owner.fence} on ${owner.sched} had not completed`;
    }
    const scheduledOf = this.owner(d.context + 1, d.seqno);
    if (scheduledOf)
      return scheduledOf.run >= 0
        ? null
        : `it is the scheduled fence of job ${scheduledOf.fence}, which had not run yet`;
    return sig === false ? 'it was initialised and had not signalled' : null;
  }

  private checkDeps(j: Job, e: Extract<KernelEvent, { type: 'sched-job-run' }>): void {
    if (j.deps.length === 0) return;
    const bad: { d: Dep; why: string }[] = [];
    for (const d of j.deps) {
      const why = this.unmet(j, d);
      if (why) bad.push({ d, why });
    }
    if (bad.length === 0) return;
    const first = bad[0]!;
    this.sink.report(
      {
        rule: 'sched.run_before_dependency',
        severity: 'bug',
        headline: `BUG: drm_sched job ${j.fence} on ${j.sched} ran before its dependency ${first.d.context}:${first.d.seqno} signalled`,
        body:
          'drm_sched must not hand a job to run_job until every dependency has signalled (a dependency on a job of the same scheduler only until that job has run). ' +
          'The job may now read a buffer its producer has not finished writing.\n' +
          bad
            .map((b) => `  dependency ${b.d.context}:${b.d.seqno} (from ${b.d.via}): ${b.why}`)
            .join('\n'),
        at: [...bad.map((b) => b.d.step), e.step],
        data: {
          sched: j.sched,
          fence: j.fence,
          dependencies: bad.map((b) => `${b.d.context}:${b.d.seqno}`),
        },
      },
      e,
    );
  }

  private order(j: Job, e: KernelEvent, what: string, before: number): void {
    this.sink.report(
      {
        rule: 'sched.job_out_of_order',
        severity: 'warn',
        headline: `WARNING: drm_sched job ${j.fence} on ${j.sched} ${what}`,
        body:
          'A drm_sched job goes queue → (add_dep, unschedulable)* → run → done exactly once each; ' +
          'its finished fence signals after done. Events out of that order mean the scheduler (or a driver resubmitting jobs) ran or completed a job twice or without running it.',
        at: [before, e.step],
        data: { sched: j.sched, fence: j.fence, order: what },
      },
      e,
    );
  }
}

/** `sched.job_out_of_order`, `sched.run_before_dependency`. */
export const schedJobRule: EventRuleFactory = (sink) => new SchedJobRule(sink);

/** Every drm_sched rule of the rule book. */
export const SCHED_EVENT_RULES: readonly EventRuleFactory[] = [schedJobRule];
