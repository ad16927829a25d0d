import type { ContextKind } from './thread.ts';

/**
 * The payloads of the kernel's typed event stream, by event type. Higher
 * layers add their own event types by augmenting this interface:
 *
 * ```ts
 * declare module '../kernel/events.ts' {
 *   interface KernelEventMap { 'fence-signal': { context: number; seqno: number } }
 * }
 * ```
 *
 * @kernel the role tracepoints play in the kernel (sched_switch, lock_acquire, dma_fence_*)
 */
export interface KernelEventMap {
  'thread-spawn': { thread: string; context: ContextKind; parent: string | null };
  'thread-exit': { thread: string; code: number };
  switch: { from: string | null; to: string; op: string };
  block: { thread: string; op: string; on: string };
  wake: { thread: string; reason: string };
  'lock-acquire': { lock: string; cls: string; read: 0 | 1 | 2; trylock: boolean };
  'lock-release': { lock: string; cls: string };
  'lock-contend': { lock: string; cls: string; holder: string | null };
  'time-advance': { fromNs: number; toNs: number };
  'timer-fire': { timer: string };
  irq: { irq: string; handler: string };
  alloc: { size: number; gfp: string; ok: boolean; site: string };
  signal: { thread: string };
  splat: { rule: string; headline: string };
  /**
   * A recorded decision (emitted only while someone listens): its index in
   * the schedule, the option taken and the options offered (at most 16,
   * the chosen one always; `more` counts the others), with the operation
   * each listed thread was waiting at (`ops`, for thread choices).
   */
  choice: {
    kind: string;
    decision: number;
    chosen: string;
    options: readonly string[];
    more: number;
    ops: readonly string[] | null;
  };
  'run-end': { steps: number; reason: string };
}

export type KernelEventType = keyof KernelEventMap;

/** A stamped event: virtual time, step and the id of the running thread (0 when none). */
export type KernelEvent = {
  [K in KernelEventType]: { type: K; tNs: number; step: number; tid: number } & KernelEventMap[K];
}[KernelEventType];

export type EventListener = (event: KernelEvent) => void;

/**
 * One typed event stream per kernel. Emission sites test `active` first, so
 * with nobody listening an event costs one branch and builds nothing.
 */
export class EventStream {
  /** True while at least one listener is attached. Check before building an event. */
  active = false;
  private readonly listeners: EventListener[] = [];

  on(listener: EventListener): () => void {
    this.listeners.push(listener);
    this.active = true;
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
      this.active = this.listeners.length > 0;
    };
  }

  emit(event: KernelEvent): void {
    for (const l of this.listeners) l(event);
  }
}
