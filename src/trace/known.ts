/**
 * What the trace writer knows about other layers' events beyond "an instant
 * with its payload": intervals that begin and end with two events (a job on
 * a scheduler, a work item on its worker, a fence wait), and causal links
 * between events (a fence signal to its callbacks and woken waiters, a job
 * queued to the job running, a work item queued to it starting). Event
 * payloads are read by field name; an event type nobody lists here is still
 * shown as an instant.
 */

type Payload = Readonly<Record<string, unknown>>;

/** An interval opened by `begin` and closed by the `end` event with the same key. */
export interface SpanRule {
  readonly begin: string;
  readonly end: string;
  /** Category (and Perfetto async-track group): one group per scheduler, workqueue, ... */
  readonly group: (p: Payload) => string;
  readonly key: (p: Payload) => string;
  readonly label: (p: Payload) => string;
}

/** A flow from a `from` event to each later `to` event with the same key (fan-out allowed). */
export interface FlowRule {
  readonly name: string;
  readonly from: string;
  readonly to: readonly string[];
  readonly key: (p: Payload) => string;
  /** Link only when this holds for the `to` event (a wait that timed out was not caused by the signal). */
  readonly accept?: (p: Payload) => boolean;
}

const s = (v: unknown): string =>
  typeof v === 'string' || typeof v === 'number' ? String(v) : '?';

export const SPAN_RULES: readonly SpanRule[] = [
  {
    begin: 'sched-job-queue',
    end: 'sched-job-run',
    group: (p) => `sched ${s(p.sched)} queued`,
    key: (p) => `${s(p.sched)}/${s(p.job)}`,
    label: (p) => `job ${s(p.job)} queued`,
  },
  {
    begin: 'sched-job-run',
    end: 'sched-job-done',
    group: (p) => `sched ${s(p.sched)}`,
    key: (p) => `${s(p.sched)}/${s(p.job)}`,
    label: (p) => `job ${s(p.job)}`,
  },
  {
    begin: 'work-start',
    end: 'work-end',
    group: (p) => `wq ${s(p.wq)}`,
    key: (p) => `${s(p.wq)}/${s(p.work)}/${s(p.worker)}`,
    label: (p) => s(p.work),
  },
  {
    begin: 'fence-wait-start',
    end: 'fence-wait-end',
    group: () => 'fence wait',
    key: (p) => `${s(p.thread)}/${s(p.fence)}`,
    label: (p) => `wait ${s(p.context)}:${s(p.seqno)}`,
  },
];

export const FLOW_RULES: readonly FlowRule[] = [
  { name: 'signal', from: 'fence-signal', to: ['fence-callback'], key: (p) => s(p.fence) },
  {
    name: 'signal',
    from: 'fence-signal',
    to: ['fence-wait-end'],
    key: (p) => s(p.fence),
    // null: an unbounded wait that ended; > 0: jiffies left. 0 is a timeout, < 0 an error.
    accept: (p) => p.result === null || (typeof p.result === 'number' && p.result > 0),
  },
  {
    name: 'job',
    from: 'sched-job-queue',
    to: ['sched-job-run'],
    key: (p) => `${s(p.sched)}/${s(p.job)}`,
  },
  { name: 'work', from: 'work-queue', to: ['work-start'], key: (p) => `${s(p.wq)}/${s(p.work)}` },
];
