/**
 * Messages between the CLI (main thread) and the worker that runs scenarios.
 * The worker exists so that a scenario thread stuck in a synchronous loop can
 * be stopped from outside: the main thread keeps a wall-clock watchdog and
 * reads, from shared memory, which thread was running when it fired.
 */
import type {
  Decision,
  FoldedFrame,
  KernelEvent,
  KernelLimits,
  RunEnd,
  Splat,
} from '../kernel/index.ts';
import type { Expectation, Verdict } from '../scenario/index.ts';

/** One run asked of the worker. */
export interface RunRequest {
  readonly id: number;
  /** Built-in name or absolute path. */
  readonly scenario: string;
  readonly seed: number;
  /** Replay these decisions instead of drawing from the seed. */
  readonly decisions?: readonly Decision[];
  /** Stream the events back (for a trace). */
  readonly trace: boolean;
  /** Capture stacks from the start. */
  readonly stacks: boolean;
  /**
   * Otherwise, when to replay the run from its recorded schedule with stack
   * capture on, so its reports carry source locations: after a run that
   * reported a splat or a thread error (`on-report`), only after one whose
   * verdict differs from the expected one (`on-mismatch`), or never.
   */
  readonly restack?: 'on-report' | 'on-mismatch' | 'never';
  /** Skip that replay when the run itself took longer than this (ms): the watchdog must not stop it. */
  readonly restackWithinMs?: number;
  /** Hash the event stream (`eventHash`) while the run goes on. */
  readonly hash?: boolean;
  readonly limits: Partial<KernelLimits>;
  /** Race detector and KASAN (default on; `--no-races` turns them off). */
  readonly races?: boolean;
  /** Lockdep (default on; `--no-lockdep` turns it off). */
  readonly lockdep?: boolean;
  /**
   * The decisions are a partial schedule (saved from an interrupted run):
   * the run stops, as interrupted, when they are used up.
   */
  readonly partial?: boolean;
  /** With `partial`: the step the recorded run was stopped at; the replay stops there too. */
  readonly stopAtStep?: number;
}

/** Ask the worker to stop the run of request `id` now, keeping what it produced (`Kernel.interrupt`). */
export interface InterruptRequest {
  readonly type: 'interrupt';
  readonly id: number;
  readonly message: string;
}

/** What the main thread sends the worker. */
export type WorkerRequest = RunRequest | InterruptRequest;

/** A scenario as the main thread sees it (no functions cross threads). */
export interface ScenarioInfo {
  readonly name: string;
  readonly description: string;
  readonly expect: Expectation;
  /** The expectation in words (`describeExpectation`). */
  readonly expected: string;
  /** What to pass to `dmabuf-lab run` to get it again. */
  readonly ref: string;
  readonly builtin: boolean;
}

/** A `RunResult` in transferable form. */
export interface RunSummaryData {
  readonly end: RunEnd;
  readonly splats: readonly Splat[];
  readonly failure: {
    readonly kind: string;
    readonly message: string;
    readonly thread: string | null;
    /** Where it was thrown (user frames, library folded). */
    readonly stack?: readonly FoldedFrame[];
  } | null;
  readonly timeNs: number;
  readonly steps: number;
  readonly seed: number;
  readonly limits: KernelLimits;
  readonly decisions: readonly Decision[];
  readonly exits: Readonly<Record<string, number>>;
  /** Decisions of a replayed schedule that the run did not use. */
  readonly unusedDecisions: number;
  /** sha256 of the event stream (when hashed), of the run as first made. */
  readonly eventHash: string | null;
  /**
   * Where the splats' backtraces come from: `captured` (stacks were on from
   * the start), `replayed` (the run was replayed from its schedule with
   * stacks on), `off` (nothing to locate, or not asked).
   */
  readonly stacks: 'captured' | 'replayed' | 'off';
  /** Why a replay with stacks was skipped or not used, when it was. */
  readonly stacksNote: string | null;
}

/** What the worker sends back while a request runs (in this order: phase, loaded, then threads / splats / events, then done or error). */
export type WorkerMessage =
  | { type: 'phase'; id: number; phase: 'load' | 'setup' | 'run' }
  | { type: 'loaded'; id: number; info: ScenarioInfo; limits: KernelLimits; lockdep: boolean; races: boolean }
  | { type: 'thread'; id: number; tid: number; name: string }
  | { type: 'splat'; id: number; splat: Splat }
  | { type: 'event'; id: number; event: KernelEvent }
  | { type: 'warning'; id: number; message: string }
  | { type: 'done'; id: number; result: RunSummaryData; notes: string[]; verdict: Verdict }
  | { type: 'error'; id: number; kind: string; message: string };

/**
 * Shared-memory slots the worker writes at every thread switch, read by the
 * watchdog and the progress line: running thread id, steps, virtual time.
 */
export const SAB_BYTES = 24;
/** Int32Array index: kernel id of the running thread (0 for none). */
export const SLOT_TID = 0;
/**
 * Int32Array index: the id of a request the main thread asks to stop
 * (Ctrl-C, the wall-clock limit). Read by the worker at every switch: a
 * run never yields to the worker's event loop, so a message would only
 * arrive after it ended.
 */
export const SLOT_STOP = 1;
/** Float64Array index: scheduling steps so far. */
export const SLOT_STEPS = 1;
/** Float64Array index: virtual time in ns. */
export const SLOT_TIME_NS = 2;
