import { describe, expect, it } from 'vitest';
import { Errno, Kernel, MAX_SCHEDULE_TIMEOUT, msleep, SpinLock } from '../../src/kernel/index.ts';
import type { Thread } from '../../src/kernel/index.ts';
import { DmaFence, dmaFenceSetSignaller, dmaFenceWaitAnyTimeout } from '../../src/fence/index.ts';
import type { DmaFenceOps } from '../../src/fence/index.ts';
import { inThread, mockFence, mockOps, rules } from './helpers.ts';

/** Run a waiter and a signaller; returns the waiter's results. */
async function waitScenario(
  wait: (k: Kernel, f: DmaFence) => Promise<unknown>,
  signalAfterMs: number | null,
  opts: { hz?: number } = {},
): Promise<{ got: unknown; k: Kernel; splats: string[]; end: string }> {
  const k = new Kernel({ seed: 3, hz: opts.hz ?? 1000 });
  const f = mockFence(k);
  let got: unknown;
  k.kthreadRun('waiter', async () => {
    got = await wait(k, f);
  });
  k.kthreadRun('signaller', async () => {
    if (signalAfterMs === null) return;
    await msleep(k, signalAfterMs);
    f.signal();
  });
  const r = await k.run();
  if (r.failure) throw new Error(r.failure.message);
  return { got, k, splats: rules(r), end: r.end };
}

describe('dma_fence_wait_timeout', () => {
  it('a signalled fence: zero timeout gives 1, a timeout gives it back, MAX stays MAX', async () => {
    const { value } = await inThread(async (k) => {
      const f = mockFence(k);
      f.signal();
      return [
        await f.waitTimeout(false, 0),
        await f.waitTimeout(true, 50),
        await f.waitTimeout(false, MAX_SCHEDULE_TIMEOUT),
        await f.wait(true),
      ];
    });
    expect(value).toEqual([1, 50, MAX_SCHEDULE_TIMEOUT, 0]);
  });

  it('an unsignalled fence with zero timeout gives 0 without sleeping', async () => {
    const { value, result } = await inThread(async (k) => {
      const f = mockFence(k);
      const r = await f.waitTimeout(false, 0);
      f.signal();
      return [r, k.nowNs];
    });
    expect(value).toEqual([0, 0]);
    expect(result.splats).toEqual([]);
  });

  it('times out with 0 after exactly the timeout (jiffies)', async () => {
    const { got, splats } = await waitScenario(async (k, f) => {
      const r = await f.waitTimeout(false, 10);
      const at = k.nowNs;
      f.signal();
      return [r, at];
    }, null);
    expect(got).toEqual([0, 10e6]);
    expect(splats).toEqual([]);
  });

  it('returns the remaining jiffies when signalled in time', async () => {
    const { got } = await waitScenario(async (_k, f) => f.waitTimeout(false, 100), 20);
    // msleep(20) sleeps 21 jiffies at HZ=1000.
    expect(got).toBe(100 - 21);
  });

  it('wait with MAX_SCHEDULE_TIMEOUT returns 0 once signalled', async () => {
    const { got } = await waitScenario(async (_k, f) => f.wait(false), 5);
    expect(got).toBe(0);
  });

  it('an interruptible wait ends with -ERESTARTSYS on a signal; a non-interruptible one does not', async () => {
    const k = new Kernel({ seed: 1 });
    const f = mockFence(k);
    const got: Record<string, number> = {};
    const a = k.kthreadRun('intr', async () => {
      got.intr = await f.waitTimeout(true, 1000);
    });
    const b = k.kthreadRun('uninterruptible', async () => {
      got.plain = await f.waitTimeout(false, 1000);
    });
    k.kthreadRun('killer', async () => {
      await msleep(k, 3);
      k.sendSignal(a);
      k.sendSignal(b);
      await msleep(k, 3);
      f.signal();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(got.intr).toBe(-Errno.ERESTARTSYS);
    expect(got.plain).toBeGreaterThan(0);
  });

  it('a pending signal makes an interruptible wait fail at once', async () => {
    const { value } = await inThread(async (k) => {
      const f = mockFence(k);
      k.sendSignal(k.current);
      const r = await f.waitTimeout(true, 10);
      k.flushSignals();
      f.signal();
      return r;
    });
    expect(value).toBe(-Errno.ERESTARTSYS);
  });

  it('a negative timeout warns and gives -EINVAL', async () => {
    const { value, result } = await inThread(async (k) => {
      const f = mockFence(k);
      const r = await f.waitTimeout(false, -1);
      f.signal();
      return r;
    });
    expect(value).toBe(-Errno.EINVAL);
    expect(rules(result)).toEqual(['fence.invalid_argument']);
  });

  it('uses the driver wait op when there is one (after enabling signalling)', async () => {
    const calls: unknown[] = [];
    const ops: DmaFenceOps = {
      ...mockOps,
      enableSignaling: () => (calls.push('enable'), true),
      wait: async (f, intr, t) => {
        calls.push(['wait', intr, t]);
        f.signal();
        return -Errno.EIO;
      },
    };
    const { value } = await inThread(async (k) => {
      const f = new DmaFence(k, ops, new SpinLock(k, 'l'), 1, 1);
      return [await f.waitTimeout(true, 7), await f.wait(false)];
    });
    expect(value).toEqual([-Errno.EIO, -Errno.EIO]);
    expect(calls).toEqual(['enable', ['wait', true, 7], ['wait', false, MAX_SCHEDULE_TIMEOUT]]);
  });

  it('waiting in atomic context is reported (might_sleep)', async () => {
    const { result } = await inThread(async (k) => {
      const f = mockFence(k);
      f.signal();
      const l = new SpinLock(k, 'outer');
      l.lock();
      await f.waitTimeout(false, 0);
      l.unlock();
    });
    expect(rules(result)).toContain('sched.might_sleep');
  });

  it('the default waiter goes to the head of the list: woken before other callbacks run', async () => {
    const k = new Kernel({ seed: 1 });
    const f = mockFence(k);
    const seen: string[] = [];
    k.kthreadRun('waiter', async () => {
      await f.wait(false);
      seen.push('woken');
    });
    k.kthreadRun('signaller', async () => {
      await msleep(k, 1);
      f.addCallback(new (await import('../../src/fence/index.ts')).DmaFenceCb(), () => {
        seen.push(`cb: waiter ${k.allThreads[0]!.state}`);
      });
      f.signal();
    });
    await k.run();
    expect(seen).toEqual(['cb: waiter runnable', 'woken']);
  });

  it('a blocked waiter names the declared signaller as owner (deadlock report)', async () => {
    const k = new Kernel({ seed: 1 });
    const f = mockFence(k);
    k.kthreadRun('waiter', async () => {
      await f.wait(false);
    });
    const signaller: Thread = k.kthreadRun('irq-thread', async () => {
      await f.wait(false); // waits on its own fence: never signals
    });
    dmaFenceSetSignaller(f, signaller);
    const r = await k.run();
    expect(r.end).toBe('deadlock');
    const dl = r.splats.find((s) => s.rule === 'sched.deadlock')!;
    expect(dl.body).toMatch(
      /waiter blocked in dma_fence_default_wait on dma_fence mock:mock:0:0 \(held by irq-thread\)/,
    );
    expect(rules(r)).toContain('fence.indefinite');
  });
});

describe('dma_fence_wait_any_timeout', () => {
  it('zero timeout: 1 and the first signalled index, else 0', async () => {
    const { value } = await inThread(async (k) => {
      const fs = [mockFence(k), mockFence(k), mockFence(k)];
      const r0 = await dmaFenceWaitAnyTimeout(k, fs, false, 0);
      fs[2]!.signal();
      fs[1]!.signal();
      const r1 = await dmaFenceWaitAnyTimeout(k, fs, false, 0);
      fs[0]!.signal();
      return [r0, r1];
    });
    expect(value).toEqual([
      { ret: 0, idx: null },
      { ret: 1, idx: 1 },
    ]);
  });

  it('an already signalled fence returns the timeout unchanged and its index', async () => {
    const { value } = await inThread(async (k) => {
      const fs = [mockFence(k), mockFence(k)];
      fs[1]!.signal();
      const r = await dmaFenceWaitAnyTimeout(k, fs, false, 33);
      fs[0]!.signal();
      return [r, fs[0]!.cbHead];
    });
    expect(value).toEqual([{ ret: 33, idx: 1 }, null]);
  });

  it('sleeps until one signals (remaining jiffies), times out with 0, and cleans up its callbacks', async () => {
    const k = new Kernel({ seed: 2 });
    const fs = [mockFence(k), mockFence(k), mockFence(k)];
    const got: unknown[] = [];
    k.kthreadRun('waiter', async () => {
      got.push(await dmaFenceWaitAnyTimeout(k, fs, false, 100));
      got.push(fs.map((f) => f.cbHead === null));
      got.push(await dmaFenceWaitAnyTimeout(k, [fs[0]!, fs[1]!], true, 5));
      fs[0]!.signal();
      fs[1]!.signal();
    });
    k.kthreadRun('signaller', async () => {
      await msleep(k, 9);
      fs[2]!.signal();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(got).toEqual([{ ret: 90, idx: 2 }, [true, true, true], { ret: 0, idx: null }]);
  });

  it('no fences or a negative timeout: WARN and -EINVAL', async () => {
    const { value, result } = await inThread(async (k) => [
      await dmaFenceWaitAnyTimeout(k, [], false, 1),
      await dmaFenceWaitAnyTimeout(k, [mockFence(k)], false, -2),
    ]);
    expect(value).toEqual([
      { ret: -Errno.EINVAL, idx: null },
      { ret: -Errno.EINVAL, idx: null },
    ]);
    expect(rules(result)).toEqual(['fence.invalid_argument', 'fence.invalid_argument']);
  });
});
