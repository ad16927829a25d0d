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

/** The `type` of a kernel event (`switch`, `lock-acquire`, `splat`, ...). */
export type KernelEventType = keyof KernelEventMap;

/** A stamped event: virtual time, step and the id of the running thread (0 when none). */
export type KernelEvent = {
  [K in KernelEventType]: { type: K; tNs: number; step: number; tid: number } & KernelEventMap[K];
}[KernelEventType];

/** Receives every event of a kernel's event stream, as it happens. */
export type EventListener = (event: KernelEvent) => void;

/**
 * One typed event stream per kernel. Emission sites test `active` first, so
 * with nobody listening an event costs one branch and builds nothing.
 *
 * A listener may subscribe to some event types only (the rule book's
 * consumers, which read fence and scheduler events): it does not make
 * `active` true, so the hot paths (switches, locks) stay free; emission
 * sites of the types it reads test `wants(type)` instead of `active`.
 *
 * @kernel none: the model's event stream (the kernel's tracepoints feed the ftrace ring buffer)
 */
export class EventStream {
  /** True while at least one listener takes every event. Check before building an event. */
  active = false;
  private readonly listeners: EventListener[] = [];
  private readonly typed = new Map<KernelEventType, EventListener[]>();

  /** Listen to every event, or (with `types`) to those types only. Returns the function that detaches it. */
  on(listener: EventListener, types?: readonly KernelEventType[]): () => void {
    if (types) {
      for (const t of types) {
        const list = this.typed.get(t);
        if (list) list.push(listener);
        else this.typed.set(t, [listener]);
      }
      return () => {
        for (const t of types) {
          const list = this.typed.get(t);
          const i = list ? list.indexOf(listener) : -1;
          if (i >= 0) list!.splice(i, 1);
          if (list?.length === 0) this.typed.delete(t);
        }
      };
    }
    this.listeners.push(listener);
    this.active = true;
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
      this.active = this.listeners.length > 0;
    };
  }

  /** True when an event of `type` has a listener (one for everything, or one for this type). */
  wants(type: KernelEventType): boolean {
    return this.active || this.typed.has(type);
  }

  /**
   * Deliver `event` to every listener; with `typed` false only to those that
   * take every event (a trace), not to the typed consumers (the rule book),
   * so what the rules see does not depend on whether the run is traced.
   */
  emit(event: KernelEvent, typed = true): void {
    for (const l of this.listeners) l(event);
    if (!typed || this.typed.size === 0) return;
    const list = this.typed.get(event.type);
    if (list) for (const l of list) l(event);
  }
}
