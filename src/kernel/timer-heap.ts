/**
 * An expiry entry in the kernel's timer queue. `fire` runs synchronously when
 * the timer expires; it either wakes a thread or starts a callback context.
 */
export interface TimerEntry {
  expiresNs: number;
  /** Insertion order: ties are ordered by the chooser, this keeps the heap stable. */
  seq: number;
  readonly label: string;
  fire: () => void;
  cancelled: boolean;
  /** The happens-before checker's record of the arming context (opaque; null without a checker). */
  hb: unknown;
  /** @internal heap slot, -1 when not queued. */
  index: number;
}

/** Binary min-heap of timers by (expiry, insertion order); O(log n) add and remove. */
export class TimerHeap {
  private readonly heap: TimerEntry[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(e: TimerEntry): void {
    e.index = this.heap.length;
    this.heap.push(e);
    this.up(e.index);
  }

  peek(): TimerEntry | undefined {
    return this.heap[0];
  }

  pop(): TimerEntry | undefined {
    const top = this.heap[0];
    if (top) this.removeAt(0);
    return top;
  }

  remove(e: TimerEntry): void {
    if (e.index >= 0 && this.heap[e.index] === e) this.removeAt(e.index);
  }

  private removeAt(i: number): void {
    const last = this.heap.pop()!;
    const removed = this.heap[i] ?? last;
    removed.index = -1;
    if (i < this.heap.length) {
      this.heap[i] = last;
      last.index = i;
      this.down(i);
      this.up(i);
    }
  }

  private less(a: TimerEntry, b: TimerEntry): boolean {
    return a.expiresNs < b.expiresNs || (a.expiresNs === b.expiresNs && a.seq < b.seq);
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(i: number, j: number): void {
    const h = this.heap;
    const a = h[i]!;
    const b = h[j]!;
    h[i] = b;
    h[j] = a;
    a.index = j;
    b.index = i;
  }
}
