import type { Backtrace, ReportStack } from './stack.ts';
import type { Thread } from './thread.ts';

/** Severity in the kernel's terms: BUG kills the offending thread, WARN and lockdep record and continue. */
export type SplatSeverity = 'bug' | 'warn' | 'lockdep' | 'info';

/**
 * One broken rule, reported the way the kernel would report it. A splat is
 * data: it is recorded on the run and never thrown.
 *
 * @kernel the text the kernel prints for WARN(), BUG() and lockdep reports
 */
export interface Splat {
  /** Stable rule id, e.g. `lockdep.circular`, `sched.might_sleep`; `dmabuf-lab explain <rule>` describes it. */
  readonly rule: string;
  readonly severity: SplatSeverity;
  /** Kernel-style headline, e.g. `WARNING: possible circular locking dependency detected`. */
  readonly headline: string;
  /** Kernel-style body (chains, held locks, scenario), one string with newlines. */
  readonly body: string;
  /** Name of the thread that tripped the rule, or `null` when found at the end of a run. */
  readonly thread: string | null;
  /** Virtual time in ns. */
  readonly timeNs: number;
  /** Scheduling step at which it was reported. */
  readonly step: number;
  /** Structured details for `--json` consumers; shape depends on the rule. */
  readonly data?: Readonly<Record<string, unknown>>;
  /**
   * Backtraces of the acquisitions, accesses and the report itself, when the
   * run captured stacks (`captureStacks`): user frames one by one, library
   * frames folded. Absent otherwise.
   */
  readonly stacks?: readonly ReportStack[];
}

/** A backtrace a reporter attaches to its splat (`SplatInput.stacks`); null stacks are skipped. */
export interface SplatStackInput {
  readonly label: string;
  readonly thread?: string | null;
  readonly step?: number | null;
  readonly stack: Backtrace | null | undefined;
}

/** What a layer passes to `Kernel.splat`; the kernel fills in thread, time and step. */
export interface SplatInput {
  rule: string;
  severity: SplatSeverity;
  headline: string;
  body?: string;
  thread?: Thread | null;
  data?: Record<string, unknown>;
  /**
   * Backtraces of what the report is about (the other acquisitions of a
   * lockdep chain, an earlier access). The kernel adds the reporting
   * thread's current stack and its held locks' by itself.
   */
  stacks?: readonly SplatStackInput[];
}
