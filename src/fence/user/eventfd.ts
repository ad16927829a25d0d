import { Errno, SpinLock } from '../../kernel/index.ts';
import type { Kernel } from '../../kernel/index.ts';
import type { File, FileContext, OpenFile } from './file.ts';
import { POLLIN, POLLOUT, PollWaitQueue, pollWait } from './poll.ts';
import type { PollTable } from './poll.ts';
import type { UserProcess } from './process.ts';

/** `ULLONG_MAX`, as far as a JavaScript number counts exactly. */
const COUNT_MAX = Number.MAX_SAFE_INTEGER;

/**
 * `struct eventfd_ctx`: a 64-bit counter that kernel code bumps with
 * `eventfdSignal` and userspace reads or polls (POLLIN while non-zero). The
 * counter is exact up to 2^53 (a documented difference, as for seqnos).
 *
 * @kernel struct eventfd_ctx, eventfd_fops (fs/eventfd.c)
 */
export class EventFd implements File {
  readonly fileType = 'eventfd';
  /** `ctx->wqh`: pollers sleep here. */
  readonly wq = new PollWaitQueue();
  /** `ctx->wqh.lock`, taken with IRQs off by `eventfd_signal` (any context). */
  readonly lock: SpinLock;

  constructor(
    readonly kernel: Kernel,
    /** `ctx->count`. */
    public count: number,
  ) {
    this.lock = new SpinLock(kernel, '&ctx->wqh', { key: 'eventfd_ctx.wqh.lock' });
  }

  /** `eventfd_poll`: POLLIN while the count is non-zero, POLLOUT while it can still grow. */
  poll(_ctx: FileContext, pt: PollTable | null): number {
    pollWait(pt, this.wq);
    let mask = 0;
    if (this.count > 0) mask |= POLLIN;
    if (this.count < COUNT_MAX - 1) mask |= POLLOUT;
    return mask;
  }
}

/**
 * `eventfd2(initval, 0)`: a new eventfd in `proc`; the fd or -EMFILE.
 *
 * @kernel do_eventfd (fs/eventfd.c)
 */
export function eventfdCreate(proc: UserProcess, initval = 0): number {
  if (!Number.isInteger(initval) || initval < 0 || initval >= COUNT_MAX) throw new Error(`eventfd(${initval}): the initial count must be an integer in [0, 2^53)`);
  return proc.installFile(new EventFd(proc.kernel, initval));
}

/**
 * `eventfd_ctx_fdget(fd)`: the eventfd behind `fd` (the caller keeps the
 * returned reference and puts it with `file.put()`), -EBADF for a bad fd,
 * -EINVAL for a file that is not an eventfd.
 *
 * @kernel eventfd_ctx_fdget
 */
export function eventfdCtxFdget(proc: UserProcess, fd: number): { file: OpenFile; ctx: EventFd } | number {
  const of = proc.fget(fd);
  if (!of) return -Errno.EBADF;
  if (!(of.file instanceof EventFd)) {
    of.put();
    return -Errno.EINVAL;
  }
  return { file: of, ctx: of.file };
}

/**
 * `eventfd_signal(ctx)`: add 1 to the count and wake pollers, under the
 * wait-queue lock with IRQs off. Any context (fence callbacks call it).
 *
 * @kernel eventfd_signal_mask
 */
export function eventfdSignal(ctx: EventFd): void {
  const flags = ctx.lock.lockIrqsave();
  if (ctx.count < COUNT_MAX) ctx.count++;
  ctx.lock.unlockIrqrestore(flags);
  ctx.wq.wakeUpAll();
}

/**
 * `read(2)` of an eventfd opened with EFD_NONBLOCK: the count (and reset it
 * to 0), -EAGAIN while it is 0, -EBADF / -EINVAL for a bad or foreign fd.
 *
 * @kernel eventfd_read
 */
export function eventfdReadNonblock(proc: UserProcess, fd: number): number {
  const r = eventfdCtxFdget(proc, fd);
  if (typeof r === 'number') return r;
  const { file, ctx } = r;
  try {
    if (ctx.count === 0) return -Errno.EAGAIN;
    const flags = ctx.lock.lockIrqsave();
    const n = ctx.count;
    ctx.count = 0;
    ctx.lock.unlockIrqrestore(flags);
    return n;
  } finally {
    file.put();
  }
}
