/**
 * Traces and reports of a run: Chrome Trace Event JSON for Perfetto UI, the
 * self-contained HTML report, and the event-stream hash.
 */
export * from './chrome.ts';
export * from './hash.ts';
export * from './html.ts';
