/**
 * `struct spsc_queue`: the entity's single-producer / single-consumer job
 * FIFO. Push reports whether the queue was empty ("first"), which is when the
 * entity joins its run queue. O(1) push, peek and pop.
 *
 * @kernel include/drm/spsc_queue.h
 */
export class SpscQueue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  /** `spsc_queue_count`. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** `spsc_queue_push`: true when the queue was empty. */
  push(item: T): boolean {
    this.items.push(item);
    return this.length === 1;
  }

  /** `spsc_queue_peek`. */
  peek(): T | null {
    return this.head < this.items.length ? this.items[this.head]! : null;
  }

  /** `spsc_queue_pop`. */
  pop(): T | null {
    if (this.head >= this.items.length) return null;
    const item = this.items[this.head]!;
    this.items[this.head] = undefined;
    this.head++;
    // Compact once the consumed prefix dominates, keeping pops O(1) amortised.
    if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Snapshot of the queued items, oldest first (for reports and tests). */
  toArray(): T[] {
    return this.items.slice(this.head) as T[];
  }
}
