/**
 * A toy GPU driver's device node for the signal scenarios, in the shape of
 * msm's submit and wait-fence ioctls (`msm_ioctl_gem_submit`,
 * `msm_ioctl_wait_fence`): `TOY_SUBMIT` queues a job on the ring and returns
 * its fence's seqno, and the driver keeps the fence in a table by seqno
 * (msm's `fence_idr`) until the job retires; the ring completes a job
 * 1 ms after submission (an hrtimer standing for the completion interrupt), which
 * signals the fence and drops the table's reference; `TOY_WAIT_FENCE`, the
 * scenario's own, waits for a seqno.
 *
 * A user process opens the node, submits one job and waits for it the way
 * libdrm's `drmIoctl` does: when a signal interrupted the call (-EINTR), it
 * makes it again. Its thread takes signals (a user task), so
 * `dmabuf-lab explore --faults signal` may interrupt its sleep in the wait.
 */
import { DmaFence, dmaFenceContextAlloc, registerDevice, UserProcess } from '../src/fence/index.ts';
import type { DmaFenceOps, File, FileContext } from '../src/fence/index.ts';
import { Errno, HrTimer, SpinLock } from '../src/kernel/index.ts';
import type { Kernel } from '../src/kernel/index.ts';
import type { ScenarioContext } from '../src/scenario/index.ts';

/** The driver's state: the fence table by seqno and its lock, the ring's fence context. */
export interface ToyDev {
  readonly kernel: Kernel;
  /** `fence_idr`'s lock; also taken by the completion interrupt (softirq), so with IRQs off. */
  readonly lock: SpinLock;
  /** Fences of submitted jobs that have not retired, each with the table's reference. */
  readonly fences: Map<number, DmaFence>;
  readonly context: number;
  readonly fenceLock: SpinLock;
  seqno: number;
}

/** The wait ioctl under test: 0 once the fence with `seqno` signalled, or a negative errno. */
export type ToyWaitFence = (dev: ToyDev, seqno: number) => Promise<number>;

const ops: DmaFenceOps = {
  getDriverName: () => 'toy',
  getTimelineName: () => 'ring0',
  inOrder: true,
};

/** `TOY_SUBMIT`: a fence for the job, kept in the table; the ring completes the job 1 ms later. */
function toySubmit(dev: ToyDev): number {
  const k = dev.kernel;
  const seqno = ++dev.seqno;
  const fence = new DmaFence(k, ops, dev.fenceLock, dev.context, seqno);
  const flags = dev.lock.lockIrqsave();
  dev.fences.set(seqno, fence);
  dev.lock.unlockIrqrestore(flags);
  // The completion interrupt: signal the fence and retire it from the table.
  new HrTimer(
    k,
    () => {
      const fl = dev.lock.lockIrqsave();
      dev.fences.delete(seqno);
      dev.lock.unlockIrqrestore(fl);
      fence.signal();
      fence.put();
      return 'norestart';
    },
    'soft',
    `toy-ring-done-${seqno}`,
  ).start(1e6);
  return seqno;
}

/**
 * `/dev/toy0` and a user process (`app`) that submits one job and waits for
 * it with `waitFence`, restarting the wait after -EINTR; its result goes in
 * the run summary.
 */
export function toyWaitSetup(k: Kernel, ctx: ScenarioContext, waitFence: ToyWaitFence): void {
  const dev: ToyDev = {
    kernel: k,
    lock: new SpinLock(k, '&toy->fence_idr_lock', { key: 'toy.fence_idr_lock' }),
    fences: new Map(),
    context: dmaFenceContextAlloc(k, 1),
    fenceLock: new SpinLock(k, '&toy->fence_lock', { key: 'toy.fence_lock' }),
    seqno: 0,
  };
  const file: File = {
    fileType: 'toy',
    ioctl(_c: FileContext, request: string, arg: unknown): number | Promise<number> {
      if (request === 'TOY_SUBMIT') return toySubmit(dev);
      if (request === 'TOY_WAIT_FENCE') return waitFence(dev, (arg as { seqno: number }).seqno);
      return -Errno.ENOTTY;
    },
  };
  registerDevice('/dev/toy0', () => file, k);

  const app = new UserProcess(k, 'app');
  app.spawn('app', async () => {
    const fd = app.open('/dev/toy0');
    const seqno = await app.ioctl(fd, 'TOY_SUBMIT');
    let ret: number;
    let calls = 0;
    // drmIoctl: do ret = ioctl(...) while (ret == -1 && (errno == EINTR || errno == EAGAIN)).
    do {
      ret = await app.ioctl(fd, 'TOY_WAIT_FENCE', { seqno });
      calls++;
    } while (ret === -Errno.EINTR || ret === -Errno.EAGAIN);
    ctx.note(`TOY_WAIT_FENCE returned ${ret} after ${calls} call${calls > 1 ? 's' : ''}`);
    app.exit();
  });
}
