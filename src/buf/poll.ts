import { DmaFenceCb, POLLERR, POLLIN, POLLOUT, pollWait } from '../fence/index.ts';
import type { DmaFence, FileContext, PollTable } from '../fence/index.ts';
import { dmaResvUsageRw } from '../resv/index.ts';
import type { DmaBuf } from './forward.ts';

/**
 * One of the two poll callback slots, `dma_buf.cb_in` and `dma_buf.cb_out`.
 *
 * @kernel struct dma_buf_poll_cb_t
 */
export class DmaBufPollCb extends DmaFenceCb {
  /** Event mask being waited for; 0 when idle. */
  active = 0;

  constructor(readonly dmabuf: DmaBuf) {
    super();
  }
}

/** `dma_buf_poll_cb`: wake pollers, clear `active`, drop the fence and the file reference. Atomic. */
function dmaBufPollCbFunc(fence: DmaFence | null, cb: DmaFenceCb): void {
  if (!(cb instanceof DmaBufPollCb))
    throw new Error('dma_buf_poll_cb: not a dma-buf poll callback');
  const dcb = cb;
  const dmabuf = dcb.dmabuf;
  dmabuf.poll.wakeUpAll();
  dcb.active = 0;
  fence?.put();
  // Paired with the file reference taken in dmaBufPoll.
  dmabuf.file.put();
}

/**
 * `dma_buf_poll_add_cb`: a locked walk of the resv with usage
 * `dma_resv_usage_rw(write)`, signalled fences included, arming `dcb` on the
 * first fence that takes a callback. False if none did.
 */
function dmaBufPollAddCb(dmabuf: DmaBuf, write: boolean, dcb: DmaBufPollCb): boolean {
  const usage = dmaResvUsageRw(write);
  for (const { fence, usage: u } of dmabuf.resv.entries()) {
    if (u > usage) continue;
    fence.get();
    if (fence.addCallback(dcb, dmaBufPollCbFunc) === 0) return true;
    fence.put();
  }
  return false;
}

function pollSlot(dmabuf: DmaBuf, dcb: DmaBufPollCb, event: number, write: boolean): boolean {
  if (dcb.active) return false;
  dcb.active = event;
  dmabuf.file.get();
  if (dmaBufPollAddCb(dmabuf, write, dcb)) return false;
  // Nothing to wait for: wake other pollers and report ready now.
  dmaBufPollCbFunc(null, dcb);
  return true;
}

/**
 * `dma_buf_poll`: EPOLLIN when no unsignalled KERNEL/WRITE fence remains
 * (safe to read), EPOLLOUT when no unsignalled KERNEL/WRITE/READ fence
 * remains (safe to write); BOOKKEEP never matters. For each requested event
 * whose slot is idle, the slot is armed on the first unsignalled fence
 * (holding a file reference) and the event is not reported; if there is no
 * such fence it is reported at once. A slot already armed reports nothing
 * this round. Pollers are woken when the armed fence signals and poll again.
 *
 * Deliberate difference: poll methods are synchronous in the model's fd
 * layer, so the resv lock is not slept on; the acquisition is recorded for
 * lockdep and the table read atomically (nothing can interleave with it).
 *
 * @kernel dma_buf_poll, dma_buf_poll_add_cb, dma_buf_poll_cb
 */
export function dmaBufPoll(ctx: FileContext, dmabuf: DmaBuf, pt: PollTable | null): number {
  const k = ctx.kernel;
  pollWait(pt, dmabuf.poll);
  if (dmabuf.released) return POLLERR;
  // The fd layer asks for everything; a caller's mask is applied to the result.
  let events = POLLIN | POLLOUT;
  const dep = dmabuf.resv.wwLock.dep;
  k.lockAcquire(dep);
  if (!pollSlot(dmabuf, dmabuf.cbOut, POLLOUT, true)) events &= ~POLLOUT;
  if (!pollSlot(dmabuf, dmabuf.cbIn, POLLIN, false)) events &= ~POLLIN;
  k.lockRelease(dep);
  return events;
}
