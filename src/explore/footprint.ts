/**
 * What a scheduling step touches, for the sleep sets of the bounded search
 * (dfs.ts): the kernel reports, through `Kernel.observeSteps`, the lock
 * maps a step acquires or releases, the wait queues it wakes or waits on,
 * the blockers it blocks on or wakes, the threads it stops or signals, and
 * what the operation it was parked in is about (`Thread.parkObject`). Two
 * steps are dependent when their footprints share an object, or when
 * either step's operation was unknown (a kernel operation that does not
 * say what it acts on counts as touching everything).
 *
 * Objects are named, not numbered, so a footprint recorded in one run can
 * be compared with steps of another run of the same prefix: a lock by its
 * class key and instance name, a wait queue or blocker by its description,
 * a thread by its name. Two objects with the same name count as one: that
 * only adds dependencies (less reduction, never a missed order).
 *
 * The assumption behind it: driver state shared between threads is
 * protected by the kernel objects above (a lock, a wait queue condition, a
 * completion). Plain variables touched by two threads without one are a
 * data race, which the race checker reports from any schedule; the search
 * with reduction may then explore only one of their orders (`--reduction
 * none` explores both).
 */
import { LdWait, LockdepMap, Thread, WaitQueueHead } from '../kernel/index.ts';
import type { StepObserver } from '../kernel/index.ts';

/** The set of object names a step touched; `WILD` means everything. */
export type Footprint = ReadonlySet<string>;

/** The member of a footprint that makes it dependent with every other. */
export const WILD = '*';

const WILD_SET: Footprint = new Set([WILD]);

/** The name an object has in footprints, or null when it is not shared state (a pseudo-lock). */
export function footprintKey(o: object): string | null {
  if (o instanceof LockdepMap) return o.waitInner === LdWait.INV ? null : `lock ${o.key} ${o.name}`;
  if (o instanceof Thread) return `thread ${o.name}`;
  if (o instanceof WaitQueueHead) return `wq ${o.name}`;
  const describe = (o as { describe?: unknown }).describe;
  if (typeof describe === 'function') return `blocker ${String((describe as () => unknown).call(o))}`;
  return WILD;
}

/** True when steps with footprints `a` and `b` may not commute. */
export function dependent(a: Footprint, b: Footprint): boolean {
  if (a.has(WILD) || b.has(WILD)) return true;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const k of small) if (large.has(k)) return true;
  return false;
}

/** Receives the footprint of the first step after a decision. */
export interface FirstStepSink {
  childFp: Footprint | null;
}

/**
 * The step observer of the bounded search: keeps the current sleep set
 * (thread name -> the footprint its next step had when explored), removes
 * the entries a step is dependent with as each step ends, and notices when
 * a thread in the sleep set runs anyway (the schedule is sleep-set blocked:
 * everything after it was explored in another order).
 */
export class SleepObserver implements StepObserver {
  sleep = new Map<string, Footprint>();
  /** A sleeping thread ran: the rest of this schedule repeats explored ones. */
  blocked = false;
  /** Where the footprint of the next step to end goes (the decision that chose it). */
  pending: FirstStepSink | null = null;
  private step: Set<string> | null = null;

  /** A new run starts. */
  reset(): void {
    this.sleep = new Map();
    this.blocked = false;
    this.pending = null;
    this.step = null;
  }

  resumed(t: Thread): void {
    this.finishStep();
    if (this.sleep.has(t.name)) this.blocked = true;
    const step = new Set<string>();
    const about = t.parkObject;
    if (about === undefined) step.add(WILD);
    else if (about !== null) {
      const key = footprintKey(about);
      if (key !== null) step.add(key);
    }
    this.step = step;
  }

  touch(o: object): void {
    const step = this.step;
    if (step === null) return;
    const key = footprintKey(o);
    if (key !== null) step.add(key);
  }

  /** The running step is over (a decision is being made, or the run ended): wake dependent sleepers. */
  finishStep(): void {
    const fp = this.step;
    if (fp === null) return;
    this.step = null;
    if (this.sleep.size > 0) {
      for (const [name, f] of this.sleep) if (dependent(f, fp)) this.sleep.delete(name);
    }
    if (this.pending !== null) {
      this.pending.childFp = fp;
      this.pending = null;
    }
  }
}

/** A footprint that depends on everything (a step never observed). */
export function wildFootprint(): Footprint {
  return WILD_SET;
}
