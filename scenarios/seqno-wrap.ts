/**
 * A hardware ring with a 32-bit seqno register, started near the wrap point
 * the way Xe's CI starts every fence context (XE_FENCE_INITIAL_SEQNO = -127):
 * 200 jobs run through it, so the seqno wraps from 0xffffffff to 0 after 127
 * of them. The driver decides "is this fence done?" with the dma_fence
 * comparison rule against the register: `!__dma_fence_is_later(fence,
 * fence->seqno, hw_seqno)`, both in its `signaled` op (polled by anyone who
 * calls `dma_fence_is_signaled`) and in its IRQ handler.
 *
 * With 32-bit fences (`dma_fence_init`, the kernel's rule: low 32 bits,
 * signed difference) the wrap is harmless: clean.
 *
 * `seqno-wrap-64bit-compare` runs the same ring with plain 64-bit comparison,
 * as the October 2025 RFC proposed (drop DMA_FENCE_FLAG_SEQNO64_BIT and
 * compare `f1 > f2`): a consumer polling a post-wrap fence (seqno 5) while
 * the hardware is at 0xffffff90 sees it signalled, long before its job ran.
 * The simulated engine knows which jobs completed, so the model reports
 * `fence.signalled_early`.
 */
import { defineScenario } from '../src/scenario/index.ts';
import type { Scenario } from '../src/scenario/index.ts';
import {
  DmaFence,
  dmaFenceContextAlloc,
  dmaFenceSetSignaller,
  seqnoIsLater,
  SEQNO64,
} from '../src/fence/index.ts';
import type { DmaFenceOps } from '../src/fence/index.ts';
import {
  Completion,
  IRQ_HANDLED,
  msleep,
  raiseIrq,
  requestIrq,
  SpinLock,
} from '../src/kernel/index.ts';
import type { Kernel, Thread } from '../src/kernel/index.ts';

/** Xe's `XE_FENCE_INITIAL_SEQNO`. */
export const INITIAL_SEQNO = -127;
/** Jobs submitted: more than 127, so the 32-bit seqno wraps. */
export const JOBS = 200;
const RING_IRQ = 40;

class Job {
  done = false;
  constructor(readonly seqno: number) {}
}

class RingFence extends DmaFence {
  constructor(
    k: Kernel,
    ops: DmaFenceOps<RingFence>,
    readonly ring: Ring,
    readonly job: Job,
    wide: boolean,
  ) {
    super(k, ops, ring.lock, ring.context, job.seqno, wide ? SEQNO64 : 0);
  }
}

class Ring {
  readonly lock: SpinLock;
  readonly context: number;
  /** The 32-bit seqno register the engine writes after each job. */
  hwSeqno = (INITIAL_SEQNO - 1) >>> 0;
  next = INITIAL_SEQNO >>> 0;
  readonly queue: Job[] = [];
  readonly pending: RingFence[] = [];
  engine: Thread | null = null;
  wrapped = false;

  constructor(k: Kernel) {
    this.lock = new SpinLock(k, '&ring->fence_lock', { key: 'ring.fence_lock' });
    this.context = dmaFenceContextAlloc(k, 1);
  }
}

/** The driver's completion test: the fence's seqno is not later than the register, by the fence's own rule. */
function hwDone(f: RingFence): boolean {
  return !seqnoIsLater((f.flags & SEQNO64) !== 0, f.seqno, f.ring.hwSeqno);
}

const ringOps: DmaFenceOps<RingFence> = {
  getDriverName: () => 'ring',
  getTimelineName: () => 'rcs0',
  signaled: hwDone,
  inOrder: true,
  hwCompleted: (f) => f.job.done,
  signallers: (f) => (f.ring.engine ? [f.ring.engine] : []),
};

/** Build the scenario; `wide` selects the plain 64-bit comparison of the RFC. */
export function seqnoWrapScenario(wide: boolean): Scenario {
  return defineScenario({
    name: wide ? 'seqno-wrap-64bit-compare' : 'seqno-wrap',
    description: wide
      ? 'a 32-bit hardware seqno started at -127 compared with a plain 64-bit rule (Oct 2025 RFC): post-wrap fences look signalled early'
      : 'a 32-bit hardware seqno started at -127 runs past the wrap with the kernel 32-bit rule: clean',
    expect: wide ? { verdict: 'splat', rules: ['fence.signalled_early'] } : { verdict: 'clean' },
    setup(k, ctx) {
      const ring = new Ring(k);
      const submitted = new Completion(k, 'submitted');
      const fences: RingFence[] = [];
      let early = 0;

      // IRQ handler: signal, in order, every fence the register has reached.
      requestIrq(
        k,
        RING_IRQ,
        () => {
          const fl = ring.lock.lockIrqsave();
          while (
            ring.pending.length > 0 &&
            (ring.pending[0]!.signalled || hwDone(ring.pending[0]!))
          ) {
            const f = ring.pending.shift()!;
            f.signalLocked();
            f.put(); // the ring's reference
          }
          ring.lock.unlockIrqrestore(fl);
          return IRQ_HANDLED;
        },
        'ring',
      );

      ring.engine = k.kthreadRun('engine', async () => {
        await submitted.waitForCompletion();
        for (const job of ring.queue) {
          await msleep(k, 1);
          if (job.seqno < ring.hwSeqno) ring.wrapped = true;
          ring.hwSeqno = job.seqno;
          job.done = true;
          raiseIrq(k, RING_IRQ);
        }
      });

      k.kthreadRun('submit', () => {
        for (let i = 0; i < JOBS; i++) {
          const job = new Job(ring.next);
          ring.next = (ring.next + 1) >>> 0;
          const f = new RingFence(k, ringOps, ring, job, wide);
          dmaFenceSetSignaller(f, ring.engine);
          f.enableSwSignaling();
          ring.queue.push(job);
          ring.pending.push(f);
          fences.push(f.get()); // the consumer's reference
        }
        submitted.completeAll();
      });

      // A consumer that polls (dma_fence_is_signaled, as resv and scheduler
      // dependency checks do) to decide whether it may reuse each buffer.
      k.kthreadRun('consumer', async () => {
        await submitted.waitForCompletion();
        while (fences.some((f) => !f.signalled)) {
          for (const f of fences) {
            if (!f.signalled && f.isSignaled() && !f.job.done) early++;
          }
          await msleep(k, 3);
        }
        for (const f of fences) f.put();
      });

      // Waits for the last job, as a page flip or a CPU access would.
      let wokeAfterJobs = -1;
      k.kthreadRun('waiter', async () => {
        await submitted.waitForCompletion();
        const last = fences[fences.length - 1]!.get();
        await last.wait(false);
        wokeAfterJobs = ring.queue.filter((j) => j.done).length;
        last.put();
      });

      k.addEndCheck(() => {
        ctx.note(
          `${JOBS} jobs from seqno ${INITIAL_SEQNO >>> 0} (${INITIAL_SEQNO}); hardware wrapped: ${ring.wrapped}; ` +
            `fences seen signalled before their job ran: ${early}; the waiter for the last job woke after ${wokeAfterJobs} of ${JOBS} jobs`,
        );
      });
    },
  });
}

export default seqnoWrapScenario(false);
