/**
 * A driver's wait-fence ioctl (in the shape of msm's `msm_wait_fence`)
 * looks the fence up by seqno, takes a reference, and waits for it
 * interruptibly (`dma_fence_wait(fence, true)`). When a signal arrives during
 * the wait, the wait returns -ERESTARTSYS and the ioctl returns it at once,
 * before the `dma_fence_put` at its end: the reference leaks. Userspace
 * (libdrm's `drmIoctl`) gets -EINTR and calls again, and the second wait
 * succeeds, so nothing looks wrong from user space.
 *
 * The bug is only on the path a signal takes, so only a run where one
 * arrives shows it. The scenario's kernel delivers signals at half of the
 * interruptible sleeps of threads that take signals (`kernel.faults`), so
 * `run` and `check` see it on some seeds; `dmabuf-lab explore
 * wait-ioctl-signal-leak --faults signal` finds it systematically, and
 * without `--faults signal` explores thread order only and finds nothing.
 * `wait-ioctl-signal-leak-fixed` drops the reference on every path.
 *
 * Expectation: `lifetime.leak` on some seeds.
 */
import { Errno } from '../src/kernel/index.ts';
import { defineScenario } from '../src/scenario/index.ts';
import { toyWaitSetup } from './_toy-wait.ts';
import type { ToyDev } from './_toy-wait.ts';

/** `TOY_WAIT_FENCE`: 0 once the job with `seqno` is done, or -ERESTARTSYS when a signal interrupted the wait. */
async function toyWaitFenceIoctl(dev: ToyDev, seqno: number): Promise<number> {
  const flags = dev.lock.lockIrqsave();
  const fence = dev.fences.get(seqno)?.get() ?? null;
  dev.lock.unlockIrqrestore(flags);
  // Not in the table: the job has retired (or never existed).
  if (!fence) return 0;
  const ret = await fence.wait(true);
  if (ret === -Errno.ERESTARTSYS) return ret; // BUG: returns with the fence reference taken above
  fence.put();
  return ret;
}

export default defineScenario({
  name: 'wait-ioctl-signal-leak',
  description:
    'a wait ioctl returns -ERESTARTSYS without putting the fence it looked up (needs a signal during the wait)',
  expect: { verdict: 'splat', rules: ['lifetime.leak'], seeds: 'some' },
  kernel: { faults: { signal: 0.5 } },
  setup(k, ctx) {
    toyWaitSetup(k, ctx, toyWaitFenceIoctl);
  },
});
