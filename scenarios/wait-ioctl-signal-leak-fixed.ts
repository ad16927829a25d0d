/**
 * `wait-ioctl-signal-leak` fixed: the wait-fence ioctl drops the fence
 * reference it took on every path, the interrupted one included, and
 * returns the wait's result (-ERESTARTSYS, which user space sees as -EINTR
 * and restarts), as `msm_wait_fence` does. Clean with a signal at any
 * interruptible sleep: `dmabuf-lab explore wait-ioctl-signal-leak-fixed
 * --faults signal --strategy dfs` exhausts its schedules without a report.
 *
 * Expectation: clean.
 */
import { defineScenario } from '../src/scenario/index.ts';
import { toyWaitSetup } from './_toy-wait.ts';
import type { ToyDev } from './_toy-wait.ts';

/** `TOY_WAIT_FENCE`: 0 once the job with `seqno` is done, or -ERESTARTSYS when a signal interrupted the wait. */
async function toyWaitFenceIoctl(dev: ToyDev, seqno: number): Promise<number> {
  const flags = dev.lock.lockIrqsave();
  const fence = dev.fences.get(seqno)?.get() ?? null;
  dev.lock.unlockIrqrestore(flags);
  if (!fence) return 0;
  const ret = await fence.wait(true);
  fence.put();
  return ret;
}

export default defineScenario({
  name: 'wait-ioctl-signal-leak-fixed',
  description: 'the wait ioctl puts the fence it looked up on every path, the interrupted one too',
  expect: { verdict: 'clean' },
  kernel: { faults: { signal: 0.5 } },
  setup(k, ctx) {
    toyWaitSetup(k, ctx, toyWaitFenceIoctl);
  },
});
