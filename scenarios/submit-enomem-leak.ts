/**
 * A submit ioctl creates the job's fence first, then allocates the job. When
 * the allocation fails it returns -ENOMEM but forgets `dma_fence_put` on the
 * fence it created: the fence leaks (and never signals). The bug is only on
 * the error path, so only a run where the allocation fails shows it.
 *
 * The scenario declares that its allocations may fail (`kernel.faults`), so
 * `run` and `check` fail about half of them; `dmabuf-lab explore
 * submit-enomem-leak --faults alloc` finds the leak systematically (and
 * without `--faults alloc` explores thread order only, and finds nothing).
 *
 * Expectation: `lifetime.leak` on some seeds.
 */
import { defineScenario } from '../src/scenario/index.ts';
import { DmaFence, dmaFenceContextAlloc } from '../src/fence/index.ts';
import type { DmaFenceOps } from '../src/fence/index.ts';
import { Errno, GFP_KERNEL, kfree, kmalloc, msleep, SpinLock } from '../src/kernel/index.ts';
import type { Kernel, KBuffer } from '../src/kernel/index.ts';

interface Ring {
  readonly context: number;
  readonly lock: SpinLock;
  readonly ops: DmaFenceOps;
  seqno: number;
}

/** The driver's submit: fence, then job; -ENOMEM when the job cannot be allocated. */
function submit(k: Kernel, ring: Ring): { fence: DmaFence; job: KBuffer } | number {
  const fence = new DmaFence(k, ring.ops, ring.lock, ring.context, ++ring.seqno);
  const job = kmalloc(k, 256, GFP_KERNEL, 'ring_submit:job');
  if (!job) return -Errno.ENOMEM; // BUG: the fence is neither signalled nor put
  return { fence, job };
}

export default defineScenario({
  name: 'submit-enomem-leak',
  description: 'a submit path leaks its fence when the job allocation fails with -ENOMEM (needs an injected allocation failure)',
  expect: { verdict: 'splat', rules: ['lifetime.leak'], seeds: 'some' },
  kernel: { faults: { alloc: 0.5 } },
  setup(k) {
    const ring: Ring = {
      context: dmaFenceContextAlloc(k, 1),
      lock: new SpinLock(k, '&ring->fence_lock', { key: 'ring.fence_lock' }),
      ops: { getDriverName: () => 'ring', getTimelineName: () => 'ring0', inOrder: true },
      seqno: 0,
    };
    const done: { fence: DmaFence; job: KBuffer }[] = [];
    k.kthreadRun('submitter', async () => {
      for (let i = 0; i < 2; i++) {
        const r = submit(k, ring);
        if (typeof r !== 'number') done.push(r);
        await msleep(k, 1);
      }
    });
    k.kthreadRun('ring_irq', async () => {
      // The "hardware" completes whatever was submitted, in order.
      for (let i = 0; i < 2; i++) {
        await msleep(k, 2);
        for (const { fence, job } of done.splice(0)) {
          fence.signal();
          fence.put();
          kfree(k, job);
        }
      }
    });
  },
});
