/**
 * Traces and reports of a run: Chrome Trace Event JSON for Perfetto UI, the
 * self-contained HTML report, the event-stream hash, kernel trace text out
 * (`run --ftrace`) and in (`trace-check`).
 */
export * from './chrome.ts';
export * from './hash.ts';
export * from './html.ts';
export * from './trace-check.ts';
export { ByteLineSplitter, LineSplitter } from './lines.ts';
export type { ByteLineSink } from './lines.ts';
export { FtraceWriter, toFtraceText } from './ftrace/writer.ts';
export type { ContextRow, RingRow } from './ftrace/latency.ts';
