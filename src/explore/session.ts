/**
 * Runs the schedules of one exploration in one thread, paying the fixed
 * cost of a run once: lockdep's validator and dependency graph are built
 * and primed (`dma_resv_lockdep`) once, the creation sites of the keyless
 * locks `setup` creates are resolved once (`CreationSiteMemo`), and the
 * chooser is reused. Each schedule gets a fresh kernel (a few objects) and
 * is judged against the same primed graph: the graph takes a checkpoint
 * after priming and is rolled back after every schedule, after the
 * dependencies the schedule added have been read (the explorer accumulates
 * them across schedules itself, so that what it reports does not depend on
 * which schedules ran before in this thread). A finished kernel is not
 * referenced by anything once its schedule is recorded.
 */
import { installLifetimeTracker, Lockdep, LockdepGraph, RaceDetector } from '../check/index.ts';
import { CreationSiteMemo, formatNs, Kernel } from '../kernel/index.ts';
import type { KernelLimits, RunResult, RunWatch, StepObserver } from '../kernel/index.ts';
import { ExploreChooser } from './choice-adapter.ts';
import type { ChooserConfig, ScheduleTally } from './choice-adapter.ts';
import { ScenarioError } from '../scenario/index.ts';
import type { Scenario, ScenarioContext } from '../scenario/index.ts';
import type { Strategy } from './strategy.ts';

/** A lockdep class as the accumulated graph needs it. */
export interface ClassRef {
  readonly key: string;
  readonly subclass: number;
  readonly name: string;
  readonly waitInner: number;
  readonly waitOuter: number;
}

/** A dependency a schedule added to the lockdep graph (beyond the priming). */
export interface EdgeRecord {
  readonly from: ClassRef;
  readonly to: ClassRef;
  /** `Dep` bits. */
  readonly dep: number;
  /** Where `to` was acquired with `from` held. */
  readonly site: string;
}

/** One schedule's run. */
export interface ScheduleOutcome {
  readonly result: RunResult;
  readonly tally: ScheduleTally;
  readonly edges: readonly EdgeRecord[];
}

/** Options of a session. */
export interface SessionOptions {
  /** Seed of the boot kernel that primes lockdep (the exploration's seed). */
  readonly seed: number;
  readonly limits?: Partial<KernelLimits>;
  readonly chooser: ChooserConfig;
  /** Capture source locations of lock acquisitions (replays of failures). */
  readonly captureStacks?: boolean;
  /** The race detector and KASAN, one per schedule (default: the chooser config's, then the scenario's `races`, else on). */
  readonly races?: boolean;
  /** Lockdep (default: the chooser config's, then the scenario's `lockdep`, else on). */
  readonly lockdep?: boolean;
  /** Told of each schedule as it starts, then of its threads and switches (a watchdog's view). */
  readonly watch?: ScheduleWatch | null;
}

/** A `RunWatch` that is also told when each schedule starts (its kernel seed). */
export interface ScheduleWatch extends RunWatch {
  schedule(seed: number): void;
}

/** Edge identity in the accumulated graph. */
export function edgeId(e: EdgeRecord): string {
  return `${e.from.key}/${e.from.subclass}>${e.to.key}/${e.to.subclass}`;
}

/** The schedules of one exploration of one scenario, run one after another. */
export class ExploreSession {
  private readonly lockdep: Lockdep | null;
  private readonly graph: LockdepGraph | null;
  private readonly memo = new CreationSiteMemo();
  private readonly limits: Partial<KernelLimits>;

  constructor(
    readonly scenario: Scenario,
    private readonly opts: SessionOptions,
  ) {
    this.limits = { ...scenario.kernel?.limits, ...opts.limits };
    if (opts.lockdep ?? opts.chooser.lockdep ?? scenario.lockdep ?? true) {
      this.graph = new LockdepGraph();
      this.lockdep = new Lockdep(this.graph);
      // Boot: the priming order is recorded once, on a kernel that never runs.
      const boot = new Kernel({ seed: opts.seed, validator: this.lockdep });
      this.lockdep.attach(boot);
      this.graph.checkpoint();
    } else {
      this.graph = null;
      this.lockdep = null;
    }
  }

  /**
   * Run one schedule: `strategy` answers its decisions (its
   * `beginExecution` must have been called). `seed` is the kernel's seed
   * (reported, and given to `setup` as `ctx.seed`). Rejects with a
   * `ScenarioError` when `setup` throws.
   */
  async run(strategy: Strategy, seed: number, observer: StepObserver | null = null): Promise<ScheduleOutcome> {
    const chooser = new ExploreChooser(strategy, this.opts.chooser);
    return this.runWith(chooser, seed, observer);
  }

  /** `run` with a chooser built by the caller (reuse one across schedules). */
  async runWith(chooser: ExploreChooser, seed: number, observer: StepObserver | null = null): Promise<ScheduleOutcome> {
    const sc = this.scenario;
    const hb = (this.opts.races ?? this.opts.chooser.races ?? sc.races ?? true) ? new RaceDetector() : null;
    const k = new Kernel({
      ...sc.kernel,
      seed,
      limits: this.limits,
      chooser,
      validator: this.lockdep,
      hb,
      captureStacks: this.opts.captureStacks ?? false,
    });
    hb?.attach(k);
    if (this.lockdep) this.lockdep.attach(k);
    else installLifetimeTracker(k);
    k.useSiteMemo(this.memo);
    if (observer) k.observeSteps(observer);
    const watch = this.opts.watch ?? null;
    if (watch !== null) {
      watch.schedule(seed);
      k.watch(watch);
    }
    chooser.begin(k);
    let result: RunResult;
    try {
      try {
        const ctx: ScenarioContext = { seed, note: noNote };
        const r = k.runSetup(() => (sc as { setup(k: Kernel, ctx: ScenarioContext): unknown }).setup(k, ctx));
        if (r instanceof Promise) await r;
      } catch (e) {
        throw ScenarioError.fromSetup(sc.name, e);
      }
      result = await k.run();
    } catch (e) {
      chooser.end(false);
      this.graph?.rollback();
      throw e;
    }
    const tally = chooser.end((observer as { blocked?: boolean } | null)?.blocked ?? false);
    const edges = this.graph ? this.exportEdges(this.graph) : NO_EDGES;
    this.graph?.rollback();
    return { result, tally, edges };
  }

  private exportEdges(g: LockdepGraph): EdgeRecord[] {
    const added = g.addedEdges();
    if (added.length === 0) return NO_EDGES;
    return added.map((e) => ({
      from: classRef(e.from),
      to: classRef(e.to),
      dep: e.dep,
      site: `${e.origin.thread} at ${formatNs(e.origin.timeNs)} (step ${e.origin.step})${e.origin.site ? `, at ${e.origin.site}` : ''}`,
    }));
  }
}

const NO_EDGES: EdgeRecord[] = [];

function noNote(): void {
  // Notes are for single runs; an exploration does not collect them.
}

function classRef(c: { key: string; subclass: number; name: string; waitInner: number; waitOuter: number }): ClassRef {
  return { key: c.key, subclass: c.subclass, name: c.name, waitInner: c.waitInner, waitOuter: c.waitOuter };
}
