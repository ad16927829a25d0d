import type { Blocker, Kernel, Thread } from '../../kernel/index.ts';

/**
 * poll(2) event bits (asm-generic/poll.h): the model's files report these.
 */
export const POLLIN = 0x0001;
export const POLLPRI = 0x0002;
export const POLLOUT = 0x0004;
export const POLLERR = 0x0008;
export const POLLHUP = 0x0010;
export const POLLNVAL = 0x0020;
export const POLLRDNORM = 0x0040;
export const POLLWRNORM = 0x0100;
/** `DEFAULT_POLLMASK`: what a file without a poll method reports. */
export const DEFAULT_POLLMASK = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;

/**
 * A wait queue that poll(2) sleeps on (`wait_queue_head_t` as used by
 * `poll_wait`). Files wake it when their readiness may have changed; any
 * context.
 *
 * @kernel wait_queue_head_t, wake_up_all (for poll)
 */
export class PollWaitQueue {
  private readonly tables = new Set<PollTable>();

  /** `wake_up_all`: every poll(2) sleeping on this queue re-polls. */
  wakeUpAll(): void {
    for (const t of this.tables) t.trigger();
  }

  /** `waitqueue_active`. */
  active(): boolean {
    return this.tables.size > 0;
  }

  /** @internal */
  add(t: PollTable): void {
    this.tables.add(t);
  }

  /** @internal */
  remove(t: PollTable): void {
    this.tables.delete(t);
  }
}

/**
 * `poll_table` / `struct poll_wqueues` of one poll(2) call: the queues a
 * file's poll method registered with `pollWait`, and whether one of them was
 * woken since.
 *
 * @kernel struct poll_wqueues (fs/select.c)
 */
export class PollTable implements Blocker {
  triggered = false;
  /** False after the first pass: files are polled again without registering (the kernel's NULL `_qproc`). */
  registering = true;
  private readonly queues: PollWaitQueue[] = [];

  constructor(
    readonly kernel: Kernel,
    readonly thread: Thread,
  ) {}

  /** `poll_wait(file, wq, pt)`: register the polling thread on `wq`. */
  wait(wq: PollWaitQueue): void {
    if (!this.registering) return;
    wq.add(this);
    this.queues.push(wq);
  }

  /** @internal a registered queue was woken. */
  trigger(): void {
    this.triggered = true;
    this.kernel.wake(this.thread);
  }

  /** `poll_freewait`: unregister from every queue. */
  free(): void {
    for (const q of this.queues) q.remove(this);
    this.queues.length = 0;
  }

  describe(): string {
    return `poll on ${this.queues.length} wait queue${this.queues.length === 1 ? '' : 's'}`;
  }

  owners(): readonly Thread[] {
    return [];
  }
}

/**
 * `poll_wait`: register on `wq` when called with a table (files call it from their poll method).
 *
 * @kernel poll_wait
 */
export function pollWait(pt: PollTable | null, wq: PollWaitQueue): void {
  pt?.wait(wq);
}
