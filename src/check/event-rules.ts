/**
 * The rule book's shape: rules that can be judged from the typed event
 * stream alone (a fence signalled twice or out of seqno order, a job run
 * before its dependencies signalled, a wait that never ends) are consumers
 * of `KernelEvent`s. The same consumer judges a run of the model (installed
 * on its kernel here, reporting through `Kernel.splat`) and a real kernel
 * trace (`dmabuf-lab trace-check` feeds it the events parsed from the
 * trace and collects its findings). The consumers themselves live with the
 * layer whose events they read (`fence/event-rules/`, `sched/event-rules.ts`).
 */
import type { Kernel, KernelEvent, KernelEventType, SplatSeverity } from '../kernel/index.ts';

/** What an event rule reports: a splat without the thread, time and step the sink fills in. */
export interface EventFinding {
  readonly rule: string;
  readonly severity: SplatSeverity;
  readonly headline: string;
  readonly body: string;
  /**
   * The `step` of every event the finding rests on, oldest first (the
   * triggering one last): scheduling steps in a run, line numbers in a trace.
   */
  readonly at: readonly number[];
  /** Thread to name: default the thread of the triggering event; null for end-of-run findings. */
  readonly thread?: string | null;
  readonly data?: Readonly<Record<string, unknown>>;
}

/** Where an event rule reports; `e` is the event being consumed (null at the end), valid during the call only. */
export interface FindingSink {
  report(f: EventFinding, e: KernelEvent | null): void;
}

/** Options every rule book consumer understands. */
export interface EventRuleOptions {
  /** Report waits longer than this (`fence.wait_slow`); null or absent: off. */
  readonly slowWaitNs?: number | null;
  /**
   * State the consumers of one stream share (the fence layer's fence table),
   * by name: one map per stream (a kernel's run, a trace). Absent: each
   * consumer keeps its own.
   */
  readonly shared?: Map<string, unknown>;
}

/** One consumer of the typed event stream. */
export interface EventRule {
  /** The event types it reads. */
  readonly types: readonly KernelEventType[];
  /**
   * Consume one event, in stream order. `e` is valid during the call only:
   * keep its fields, not the object (trace-check fills the same object
   * again for the next record of that type).
   */
  event(e: KernelEvent): void;
  /** The stream ended (run end, end of the trace) at `endNs`. */
  end?(endNs: number): void;
}

/** Builds a consumer reporting to `sink`. */
export type EventRuleFactory = (sink: FindingSink, opts: EventRuleOptions) => EventRule;

/**
 * The sink of a model run: every finding becomes a splat of the kernel (current thread, time, step).
 *
 * @kernel none: routes rule-book findings into the run's splats
 */
export function kernelFindingSink(k: Kernel): FindingSink {
  return {
    report(f) {
      k.splat({
        rule: f.rule,
        severity: f.severity,
        headline: f.headline,
        body: f.body,
        ...(f.thread === null
          ? { thread: null }
          : typeof f.thread === 'string'
            ? { thread: k.allThreads.find((t) => t.name === f.thread) ?? null }
            : {}),
        data: { ...f.data, steps: [...f.at] },
      });
    },
  };
}

const installed = new WeakMap<Kernel, Set<string>>();
/** The state the consumers on one kernel share (see `EventRuleOptions.shared`). */
const sharedState = new WeakMap<Kernel, Map<string, unknown>>();

/**
 * Install the consumers built by `factories` on `k` once per `name` (a layer
 * installs its rules when it first touches a kernel): each listens to its
 * event types only, so the kernel's hot paths stay free, and ends with the
 * run's end checks. Every consumer on one kernel gets the same
 * `opts.shared` (the fence table the fence and scheduler consumers share).
 *
 * @kernel none: model machinery that attaches the rule book to a kernel
 */
export function installEventRules(
  k: Kernel,
  name: string,
  factories: readonly EventRuleFactory[],
  opts: EventRuleOptions = {},
): void {
  let names = installed.get(k);
  if (!names) installed.set(k, (names = new Set()));
  if (names.has(name)) return;
  names.add(name);
  let shared = sharedState.get(k);
  if (!shared) sharedState.set(k, (shared = new Map<string, unknown>()));
  const sink = kernelFindingSink(k);
  const ruleOpts: EventRuleOptions = { shared, ...opts };
  for (const make of factories) {
    const rule = make(sink, ruleOpts);
    k.events.on((e) => {
      rule.event(e);
    }, rule.types);
    if (rule.end)
      k.addEndCheck(() => {
        rule.end?.(k.nowNs);
      });
  }
}
