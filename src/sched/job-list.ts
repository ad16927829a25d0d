import type { DrmSchedJob } from './job.ts';

interface Node {
  job: DrmSchedJob;
  prev: Node | null;
  next: Node | null;
}

/**
 * `sched->pending_list`: jobs handed to the hardware and not yet freed, in
 * run order. O(1) add at either end, removal of any job, and head access
 * (the kernel's `list_head`).
 */
export class JobList {
  private head: Node | null = null;
  private tail: Node | null = null;
  private readonly nodes = new Map<DrmSchedJob, Node>();

  get length(): number {
    return this.nodes.size;
  }

  has(job: DrmSchedJob): boolean {
    return this.nodes.has(job);
  }

  /** `list_first_entry_or_null`. */
  first(): DrmSchedJob | null {
    return this.head?.job ?? null;
  }

  /** `list_add_tail`. */
  addTail(job: DrmSchedJob): void {
    if (this.nodes.has(job)) throw new Error(`${job.toString()} is already on the pending list`);
    const n: Node = { job, prev: this.tail, next: null };
    if (this.tail) this.tail.next = n;
    else this.head = n;
    this.tail = n;
    this.nodes.set(job, n);
    job.onPending = true;
  }

  /** `list_add` (at the head). */
  addHead(job: DrmSchedJob): void {
    if (this.nodes.has(job)) throw new Error(`${job.toString()} is already on the pending list`);
    const n: Node = { job, prev: null, next: this.head };
    if (this.head) this.head.prev = n;
    else this.tail = n;
    this.head = n;
    this.nodes.set(job, n);
    job.onPending = true;
  }

  /** `list_del_init`; false if it was not on the list. */
  remove(job: DrmSchedJob): boolean {
    const n = this.nodes.get(job);
    if (!n) return false;
    if (n.prev) n.prev.next = n.next;
    else this.head = n.next;
    if (n.next) n.next.prev = n.prev;
    else this.tail = n.prev;
    this.nodes.delete(job);
    job.onPending = false;
    return true;
  }

  /** Snapshot, oldest first. */
  toArray(): DrmSchedJob[] {
    const out: DrmSchedJob[] = [];
    for (let n = this.head; n; n = n.next) out.push(n.job);
    return out;
  }
}
