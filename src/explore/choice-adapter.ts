/**
 * The kernel's `Chooser` for explored runs: between the kernel and a
 * `Strategy`. It owns what every strategy shares: which choice kinds are
 * explorable (`--faults`), the default order (the schedule a run takes when
 * nobody deviates), the cost of every other option, the per-schedule
 * budgets (faults, and preemptions for the bounded search), the deviations
 * a schedule took (what shrinking removes) and a hash of the decisions (the
 * coverage figure).
 *
 * The default order:
 * - run queue: a runnable interrupt context (IRQ, softirq, timer callback)
 *   first, lowest thread id first (delivered at the next scheduling point);
 *   otherwise the thread that ran last, if it is still runnable and did not
 *   yield (no preemption); otherwise, after a yield (`cond_resched`), the
 *   next thread by id round-robin; otherwise the lowest thread id. Other
 *   options come after the default, in run-queue order.
 * - timers expiring at the same instant: in arming order;
 * - injections: no fault;
 * - anything else (workqueue items, data): the first option.
 */
import { optionLabel, Thread } from '../kernel/index.ts';
import type { ChoiceKind, ChoiceOption, Chooser, Kernel } from '../kernel/index.ts';
import { Cost, decisionName, INJECT_KIND } from './strategy.ts';
import type { Choice, CostKind, ExecutionOutcome, FaultKind, Strategy } from './strategy.ts';

/** Kernel operations that are a voluntary yield: switching away there is free. */
const YIELD_OPS = new Set(['cond_resched', 'yield', 'schedule']);

/** One deviation from the default order, as shrinking removes it. */
export interface Deviation {
  /** Decision number (`Choice.index`). */
  readonly index: number;
  /** Decision name (`decisionName`): what shrinking matches. */
  readonly name: string;
  readonly kind: ChoiceKind;
  /** Label of the option taken (thread name, timer label, `fail`). */
  readonly label: string;
  readonly cost: CostKind;
}

/** Options of an `ExploreChooser`. */
export interface ChooserConfig {
  readonly faults: ReadonlySet<FaultKind>;
  /** Injected faults per schedule. */
  readonly maxFaults: number;
  /** Preemptions (and order deviations) per schedule; Infinity for no bound. */
  readonly maxPreemptions: number;
  /**
   * The checkers of the schedules, from the exploration's settings, for a
   * session whose own options do not say (the pool's workers build their
   * sessions from the plan): false switches the race detector / lockdep off.
   */
  readonly races?: boolean;
  readonly lockdep?: boolean;
}

/** Counters of one schedule, read when it ends. */
export interface ScheduleTally extends ExecutionOutcome {
  readonly preemptions: number;
  readonly faults: number;
  readonly deviations: readonly Deviation[];
  /** 53-bit hash of every decision taken (equal for equal schedules). */
  readonly hash: number;
}

const INJECT_LABELS = ['ok', 'fail'];

/** Mode of the decision a `DecisionState` describes. */
const RUN_QUEUE = 0;
const GENERIC = 1;
const INJECT = 2;

/**
 * The `Choice` a strategy sees, reused for every decision of a run: option
 * p is the default for p = 0, else the (p-1)-th other option in the
 * kernel's order; nothing is allocated per decision.
 */
class DecisionState implements Choice {
  kind: ChoiceKind = 'thread';
  runQueue = false;
  inject = false;
  options: readonly ChoiceOption[] = [];
  count = 0;
  index = 0;
  threadIndex = 0;
  injectIndex = 0;
  step = 0;
  prev: Thread | null = null;
  site = '';
  ordinal = 0;
  /** @internal */
  mode = GENERIC;
  /** @internal kernel index of the default option. */
  def = 0;
  /** @internal cost of every option but the default. */
  othersCost: CostKind = Cost.FREE;

  at(p: number): number {
    if (p === 0) return this.def;
    return p - 1 < this.def ? p - 1 : p;
  }

  costAt(p: number): CostKind {
    return p === 0 ? Cost.FREE : this.othersCost;
  }

  labelAt(p: number): string {
    if (this.mode === INJECT) return INJECT_LABELS[p]!;
    const i = this.at(p);
    return this.mode === RUN_QUEUE ? (this.options[i] as Thread).name : optionLabel(this.options, i);
  }
}

const NO_DEVIATIONS: Deviation[] = [];

/**
 * A deviation as recorded during a run: its name is built only when read
 * (most schedules' deviations are never looked at).
 */
class DeviationRecord implements Deviation {
  readonly index: number;
  readonly kind: ChoiceKind;
  private readonly runQueue: boolean;
  private readonly inject: boolean;
  private readonly prev: Thread | null;
  private readonly points: number;
  private readonly state: Thread['state'] | null;
  private readonly site: string;
  private readonly ordinal: number;
  private cached: string | null = null;

  constructor(
    c: Choice,
    readonly label: string,
    readonly cost: CostKind,
  ) {
    this.index = c.index;
    this.kind = c.kind;
    this.runQueue = c.runQueue;
    this.inject = c.inject;
    this.prev = c.prev;
    this.points = c.prev?.points ?? 0;
    this.state = c.prev?.state ?? null;
    this.site = c.site;
    this.ordinal = c.ordinal;
  }

  get name(): string {
    this.cached ??= decisionName({
      kind: this.kind,
      runQueue: this.runQueue,
      inject: this.inject,
      site: this.site,
      ordinal: this.ordinal,
      prev: this.prev === null ? null : { name: this.prev.name, points: this.points, state: this.state! },
    });
    return this.cached;
  }
}

/**
 * A kernel `Chooser` that asks a strategy. One instance serves the runs of
 * an exploration in turn: `begin(k)` before each run, `end()` after it.
 */
export class ExploreChooser implements Chooser {
  private k: Kernel | null = null;
  private readonly injectOn: ReadonlySet<ChoiceKind>;
  private readonly timerOn: boolean;
  private readonly irqOn: boolean;
  private readonly c = new DecisionState();
  private readonly ordinals = new Map<ChoiceKind, number>();
  private readonly injectSites = new Map<string, number>();
  private decisions = 0;
  private threadDecisions = 0;
  private injectPoints = 0;
  private preemptions = 0;
  private faultsUsed = 0;
  private deviations: Deviation[] = NO_DEVIATIONS;
  private h1 = 0x811c9dc5;
  private h2 = 0x01000193;
  private abandoned = false;

  constructor(
    readonly strategy: Strategy,
    private readonly config: ChooserConfig,
  ) {
    const on = new Set<ChoiceKind>();
    for (const f of config.faults) if (f !== 'timer' && f !== 'irq') on.add(INJECT_KIND[f]);
    this.injectOn = on;
    this.timerOn = config.faults.has('timer');
    this.irqOn = config.faults.has('irq');
  }

  /** Start a run on `k`. */
  begin(k: Kernel): void {
    this.k = k;
    this.decisions = 0;
    this.threadDecisions = 0;
    this.injectPoints = 0;
    this.preemptions = 0;
    this.faultsUsed = 0;
    this.deviations = NO_DEVIATIONS;
    this.h1 = 0x811c9dc5;
    this.h2 = 0x01000193;
    this.abandoned = false;
    if (this.ordinals.size > 0) this.ordinals.clear();
    if (this.injectSites.size > 0) this.injectSites.clear();
  }

  /** The run ended: its counters (and the strategy is told). */
  end(redundant: boolean): ScheduleTally {
    const k = this.k;
    const tally: ScheduleTally = {
      redundant: redundant || this.abandoned,
      decisions: this.decisions,
      threadDecisions: this.threadDecisions,
      injectPoints: this.injectPoints,
      threads: k ? k.allThreads.length : 0,
      steps: k ? k.steps : 0,
      preemptions: this.preemptions,
      faults: this.faultsUsed,
      deviations: this.deviations,
      hash: (this.h1 >>> 0) * 0x200000 + ((this.h2 >>> 0) & 0x1fffff),
    };
    this.k = null;
    this.strategy.endExecution(tally);
    return tally;
  }

  choose(kind: ChoiceKind, options: readonly ChoiceOption[]): number {
    const c = this.c;
    // Every decision is numbered, forced or not, so that numbers do not
    // depend on budgets.
    c.index = this.decisions++;
    c.step = this.k!.steps;
    c.kind = kind;
    c.inject = false;
    c.options = options;
    if (kind === 'thread' && options[0] instanceof Thread) {
      c.runQueue = true;
      c.mode = RUN_QUEUE;
      const forced = this.runQueue(options as unknown as readonly Thread[]);
      if (forced >= 0) return forced;
      c.threadIndex = this.threadDecisions++;
    } else {
      if (kind === 'timer' && !this.timerOn) return 0;
      c.runQueue = false;
      c.mode = GENERIC;
      c.prev = null;
      const n = this.ordinals.get(kind) ?? 0;
      this.ordinals.set(kind, n + 1);
      c.ordinal = n;
      c.def = 0;
      c.othersCost = kind === 'timer' ? Cost.PREEMPTION : Cost.FREE;
      c.count = c.othersCost === Cost.PREEMPTION && this.preemptions >= this.config.maxPreemptions ? 1 : options.length;
      if (c.count === 1) return 0;
    }
    return this.ask(c);
  }

  inject(kind: ChoiceKind, site: string): boolean {
    if (!this.injectOn.has(kind)) return false;
    const c = this.c;
    const siteKey = `${kind}:${site}`;
    const n = (this.injectSites.get(siteKey) ?? 0) + 1;
    this.injectSites.set(siteKey, n);
    c.index = this.decisions++;
    c.step = this.k!.steps;
    c.injectIndex = this.injectPoints++;
    if (this.faultsUsed >= this.config.maxFaults) return false;
    c.site = n === 1 ? site : `${site}#${n}`;
    c.kind = kind;
    c.inject = true;
    c.runQueue = false;
    c.mode = INJECT;
    c.options = [];
    c.prev = null;
    c.def = 0;
    c.othersCost = Cost.FAULT;
    c.count = 2;
    return this.ask(c) === 1;
  }

  private ask(c: DecisionState): number {
    const p = this.abandoned ? 0 : this.strategy.choose(c);
    if (p < 0) {
      this.abandon();
      return c.at(0);
    }
    const chosen = c.mode === INJECT ? p : c.at(p);
    if (p !== 0) {
      const cost = c.othersCost;
      if (cost === Cost.PREEMPTION) this.preemptions++;
      else if (cost === Cost.FAULT) this.faultsUsed++;
      if (this.deviations === NO_DEVIATIONS) this.deviations = [];
      this.deviations.push(new DeviationRecord(c, c.labelAt(p), cost));
    }
    this.h1 = Math.imul(this.h1 ^ (chosen + 1), 0x01000193);
    this.h2 = Math.imul(this.h2 ^ (c.index * 31 + chosen), 0x5bd1e995);
    return chosen;
  }

  /** Stop the run: the strategy found that the rest would repeat an explored schedule. */
  abandon(): void {
    if (this.abandoned) return;
    this.abandoned = true;
    this.k?.fail('abandoned', 'the explorer abandoned the schedule: it repeats one already explored', null);
  }

  /**
   * Fill `c` for a run-queue decision; returns the option to take when the
   * decision is forced (only one allowed), else -1.
   */
  private runQueue(rq: readonly Thread[]): number {
    const c = this.c;
    let irq = -1;
    for (let i = 0; i < rq.length; i++) {
      const t = rq[i]!;
      if (t.context !== 'process' && (irq < 0 || t.id < rq[irq]!.id)) irq = i;
    }
    if (irq >= 0 && !this.irqOn) return irq;
    const prev = this.k!.lastThread;
    c.prev = prev;
    const prevIdx = prev !== null && prev.rqIndex >= 0 && rq[prev.rqIndex] === prev ? prev.rqIndex : -1;
    const yielded = prevIdx >= 0 && YIELD_OPS.has(prev!.op);
    let def: number;
    let othersCost: CostKind = Cost.FREE;
    if (irq >= 0) {
      def = irq;
      othersCost = Cost.PREEMPTION;
    } else if (prevIdx >= 0 && !yielded) {
      def = prevIdx;
      othersCost = Cost.PREEMPTION;
    } else {
      def = -1;
      let lowest = -1;
      const after = yielded ? prev!.id : -1;
      for (let i = 0; i < rq.length; i++) {
        const id = rq[i]!.id;
        if (lowest < 0 || id < rq[lowest]!.id) lowest = i;
        if (id > after && i !== prevIdx && (def < 0 || id < rq[def]!.id)) def = i;
      }
      if (def < 0) def = lowest;
    }
    c.def = def;
    c.othersCost = othersCost;
    const room = othersCost === Cost.FREE || this.preemptions < this.config.maxPreemptions;
    c.count = room ? rq.length : 1;
    return c.count === 1 ? def : -1;
  }
}
