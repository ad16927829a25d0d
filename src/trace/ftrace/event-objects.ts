/**
 * The event objects the trace normaliser fills for the frequent event
 * types (fence init / signal / destroy, job queue / run / done), and the
 * set of them it reuses from record to record when no consumer keeps an
 * event. Each template is one object literal with every field, doubles
 * starting as doubles (`tNs: 0.5`), so V8 gives each type one hidden class
 * with its fields in the object: whether made fresh per record or reused,
 * the consumers see one shape per type. That is why the templates repeat
 * their common fields rather than spread a shared header or add fields
 * one by one (either would build the objects another way).
 *
 * @kernel none: the model's event records (src/kernel/events.ts) as trace-check makes them
 */
import type { KernelEvent } from '../../kernel/index.ts';

/**
 * The event of type `T`.
 *
 * @kernel none: an alias of the model's event types
 */
export type Ev<T extends KernelEvent['type']> = Extract<KernelEvent, { type: T }>;

/**
 * A `fence-init` event to fill.
 *
 * @kernel none: the model's event for trace event `dma_fence_init`
 */
export function newFenceInit(): Ev<'fence-init'> {
  return {
    type: 'fence-init',
    tNs: 0.5,
    step: 0,
    tid: 0,
    fence: 0,
    context: 0,
    seqno: 0,
    driver: '',
    timeline: '',
    seqno64: false,
    inOrder: true,
  };
}

/**
 * A `fence-signal` event to fill.
 *
 * @kernel none: the model's event for trace event `dma_fence_signaled`
 */
export function newFenceSignal(): Ev<'fence-signal'> {
  return {
    type: 'fence-signal',
    tNs: 0.5,
    step: 0,
    tid: 0,
    fence: 0,
    context: 0,
    seqno: 0,
    error: 0,
    timestampNs: 0.5,
    callbacks: 0,
  };
}

/**
 * A `fence-destroy` event to fill.
 *
 * @kernel none: the model's event for trace event `dma_fence_destroy`
 */
export function newFenceDestroy(): Ev<'fence-destroy'> {
  return {
    type: 'fence-destroy',
    tNs: 0.5,
    step: 0,
    tid: 0,
    fence: 0,
    context: 0,
    seqno: 0,
    signalled: false,
    pendingCallbacks: null,
  };
}

/**
 * A `sched-job-queue` event to fill.
 *
 * @kernel none: the model's event for trace event `drm_sched_job_queue`
 */
export function newJobQueue(): Ev<'sched-job-queue'> {
  return {
    type: 'sched-job-queue',
    tNs: 0.5,
    step: 0,
    tid: 0,
    sched: '',
    entity: '',
    job: 0,
    fence: '',
    dev: '',
    jobCount: 0,
    hwJobCount: 0,
    clientId: 0,
  };
}

/**
 * A `sched-job-run` event to fill.
 *
 * @kernel none: the model's event for trace event `drm_sched_job_run`
 */
export function newJobRun(): Ev<'sched-job-run'> {
  return {
    type: 'sched-job-run',
    tNs: 0.5,
    step: 0,
    tid: 0,
    sched: '',
    job: 0,
    fence: '',
    credits: 1,
    dev: '',
    jobCount: 0,
    hwJobCount: 0,
    clientId: 0,
  };
}

/**
 * A `sched-job-done` event to fill.
 *
 * @kernel none: the model's event for trace event `drm_sched_job_done`
 */
export function newJobDone(): Ev<'sched-job-done'> {
  return {
    type: 'sched-job-done',
    tNs: 0.5,
    step: 0,
    tid: 0,
    sched: '',
    job: 0,
    fence: '',
    result: 0,
  };
}

/**
 * The event objects reused from record to record when the consumers keep
 * none (`EventRule.event` must not keep its argument).
 *
 * @kernel none: the normaliser's reused events
 */
export interface Scratch {
  readonly init: Ev<'fence-init'>;
  readonly signal: Ev<'fence-signal'>;
  readonly destroy: Ev<'fence-destroy'>;
  readonly queue: Ev<'sched-job-queue'>;
  readonly run: Ev<'sched-job-run'>;
  readonly done: Ev<'sched-job-done'>;
}

/**
 * One of each template, for a normaliser that reuses its events.
 *
 * @kernel none: the normaliser's reused events
 */
export function newScratch(): Scratch {
  return {
    init: newFenceInit(),
    signal: newFenceSignal(),
    destroy: newFenceDestroy(),
    queue: newJobQueue(),
    run: newJobRun(),
    done: newJobDone(),
  };
}
