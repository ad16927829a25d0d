/**
 * Where the trace normaliser's output goes: the typed events (to the rule
 * book's consumers) and the latency samples (to the summary table). Their
 * own file, below both sides: the normaliser calls them, and the summary
 * (`TraceSummary` in latency.ts) and trace-check implement them.
 *
 * @kernel none: interfaces of the trace reader
 */
import type { KernelEvent } from '../../kernel/index.ts';

/**
 * Where the normaliser's events go.
 *
 * @kernel none: the trace reader's event stream
 */
export interface EventSink {
  /** Any event. */
  event(e: KernelEvent): void;
  /**
   * The consumer of events of one type, resolved once: the frequent types
   * go straight to their consumers, with no look-up by type per event.
   */
  of(type: KernelEvent['type']): (e: KernelEvent) => void;
}

/**
 * A latency sample for the summary table.
 *
 * @kernel none: the trace summary's input
 */
export interface LatencySink {
  init(context: number, driver: string, timeline: string): void;
  fence(context: number, driver: string, timeline: string, initToSignalNs: number | null): void;
  job(ring: string, queueToRunNs: number | null, runToDoneNs: number | null): void;
}
