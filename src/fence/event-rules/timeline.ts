/**
 * What the fence rules know about one fence context from the event stream:
 * its names, its comparison rule, and where its timeline is (the most
 * advanced seqno known to have passed: signalled, or reported completed by
 * the driver). Shared by the rule consumers; each keeps its own table.
 */
import { seqnoIsLater } from '../flags.ts';

/** Per-context knowledge. */
export interface TimelineState {
  driver: string;
  timeline: string;
  seqno64: boolean;
  inOrder: boolean;
  /** Most advanced seqno signalled on the context (null: none seen). */
  head: number | null;
  /** Most advanced position known: `head` or the driver's completed seqno, whichever is later. */
  origin: number | null;
}

/** A new context's state (names unknown until an init names them). */
export function newTimeline(): TimelineState {
  return { driver: '?', timeline: '?', seqno64: false, inOrder: true, head: null, origin: null };
}

/**
 * `a` is later than `b` on a context with this comparison rule (`__dma_fence_is_later`).
 *
 * @kernel __dma_fence_is_later
 */
export function later(t: TimelineState, a: number, b: number): boolean {
  return seqnoIsLater(t.seqno64, a, b);
}

const HALF = 0x80000000;
const RING = 0x100000000;

/**
 * Position of `seqno` in the order the context's timeline passes its
 * points, counted from the oldest point a timeline at `origin` can still
 * have pending behind it. For a 32-bit context this is the kernel's own
 * order: a point is passed once it is not later than the timeline's value
 * (`timeline_fence_signaled`, `xe_hw_fence_signaled`), so everything within
 * 2^31 behind `origin` comes first (already passed), then the points ahead
 * of it in increasing distance. Two seqnos about 2^31 apart are ordered by
 * where the timeline is, not by their difference alone. 64-bit contexts
 * compare plainly.
 *
 * @kernel none: the order timeline_fence_signaled() and xe_hw_fence_signaled() imply
 */
export function sweep(t: TimelineState, origin: number, seqno: number): number {
  if (t.seqno64) return seqno;
  return ((seqno >>> 0) - (origin >>> 0) + HALF + RING) % RING;
}

/** Move the context's position forward to `seqno` when it is later (never back). */
export function advance(t: TimelineState, seqno: number): void {
  if (t.origin === null || later(t, seqno, t.origin)) t.origin = seqno;
}

/** `driver:timeline:context:seqno`, as the model's fence WARNs name a fence. */
export function fenceLabel(t: TimelineState | undefined, context: number, seqno: number): string {
  return `${t?.driver ?? '?'}:${t?.timeline ?? '?'}:${context}:${seqno}`;
}
