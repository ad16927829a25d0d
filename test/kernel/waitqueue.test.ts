import { describe, expect, it } from 'vitest';
import { Completion, Errno, Kernel, msleep, WaitQueueHead } from '../../src/kernel/index.ts';
import type { Thread } from '../../src/kernel/index.ts';

/** Runs `body` in a thread named "waiter" (plus optional helpers) and returns what it returned. */
async function inThread<T>(k: Kernel, body: () => Promise<T>, helpers: Record<string, () => Promise<void>> = {}): Promise<{ value: T; end: string; timeNs: number }> {
  let value: T | undefined;
  k.kthreadRun('waiter', async () => {
    value = await body();
  });
  for (const [name, fn] of Object.entries(helpers)) k.kthreadRun(name, fn);
  const r = await k.run();
  return { value: value as T, end: r.end, timeNs: r.timeNs };
}

describe('wait_event', () => {
  it('returns once the condition holds after a wake_up, re-checking on every wake-up', async () => {
    const k = new Kernel({ seed: 3 });
    const wq = new WaitQueueHead(k, 'wq');
    let x = 0;
    let wakeups = 0;
    const r = await inThread(k, async () => {
      await wq.waitEvent(() => x >= 3);
      return k.nowNs;
    }, {
      producer: async () => {
        for (let i = 0; i < 3; i++) {
          await msleep(k, 1);
          x++;
          wakeups++;
          wq.wakeUp();
        }
      },
    });
    expect(r.end).toBe('completed');
    expect(r.value).toBe(6e6);
    expect(wakeups).toBe(3);
  });

  it('a condition that already holds returns without sleeping', async () => {
    const k = new Kernel();
    const wq = new WaitQueueHead(k);
    const r = await inThread(k, async () => {
      await wq.waitEvent(() => true);
      return k.nowNs;
    });
    expect(r.value).toBe(0);
  });
});

describe('wait_event_timeout return values', () => {
  const cases: [string, (k: Kernel, wq: WaitQueueHead, flag: { v: boolean }) => Promise<number>, Record<string, (k: Kernel, wq: WaitQueueHead, flag: { v: boolean }) => Promise<void>>, number, number][] = [
    ['condition already true: the whole timeout', (_k, wq) => wq.waitEventTimeout(() => true, 10), {}, 10, 0],
    ['condition already true, timeout 0: 1', (_k, wq) => wq.waitEventTimeout(() => true, 0), {}, 1, 0],
    ['never true: 0 after exactly the timeout', (_k, wq, f) => wq.waitEventTimeout(() => f.v, 10), {}, 0, 10e6],
    [
      'true after 4 ms with a wake-up: remaining jiffies',
      (_k, wq, f) => wq.waitEventTimeout(() => f.v, 10),
      { setter: async (k, wq, f) => { await msleep(k, 3); f.v = true; wq.wakeUp(); } },
      6,
      4e6,
    ],
    [
      'true but nobody woke the waiter: 1 when the timeout elapses',
      (_k, wq, f) => wq.waitEventTimeout(() => f.v, 10),
      { setter: async (k, _wq, f) => { await msleep(k, 3); f.v = true; } },
      1,
      10e6,
    ],
  ];
  for (const [name, wait, helpers, expected, timeNs] of cases) {
    it(name, async () => {
      const k = new Kernel({ seed: 1 });
      const wq = new WaitQueueHead(k);
      const flag = { v: false };
      const hs = Object.fromEntries(Object.entries(helpers).map(([n, f]) => [n, () => f(k, wq, flag)]));
      const r = await inThread(k, async () => [await wait(k, wq, flag), k.nowNs] as const, hs);
      expect(r.value).toEqual([expected, timeNs]);
    });
  }
});

describe('interruptible waits', () => {
  it('a signal ends wait_event_interruptible with -ERESTARTSYS', async () => {
    const k = new Kernel({ seed: 1 });
    const wq = new WaitQueueHead(k);
    let waiter: Thread | null = null;
    const r = await inThread(k, async () => {
      waiter = k.current;
      return wq.waitEventInterruptible(() => false);
    }, {
      killer: async () => {
        await msleep(k, 2);
        k.sendSignal(waiter!);
      },
    });
    expect(r.value).toBe(-Errno.ERESTARTSYS);
    expect(r.timeNs).toBe(3e6);
  });

  it('wait_event_interruptible_timeout: -ERESTARTSYS, 0 on timeout, remaining on success', async () => {
    for (const [what, expected] of [['signal', -Errno.ERESTARTSYS], ['timeout', 0], ['wake', 7]] as const) {
      const k = new Kernel({ seed: 1 });
      const wq = new WaitQueueHead(k);
      let ok = false;
      let waiter: Thread | null = null;
      const r = await inThread(k, async () => {
        waiter = k.current;
        return wq.waitEventInterruptibleTimeout(() => ok, 10);
      }, {
        other: async () => {
          await msleep(k, 2); // 3 ms
          if (what === 'signal') k.sendSignal(waiter!);
          if (what === 'wake') {
            ok = true;
            wq.wakeUpInterruptible();
          }
        },
      });
      expect(r.value).toBe(expected);
    }
  });

  it('a signal already pending makes an interruptible wait return at once; flush_signals clears it', async () => {
    const k = new Kernel({ seed: 1 });
    const wq = new WaitQueueHead(k);
    const out: number[] = [];
    k.kthreadRun('t', async () => {
      k.sendSignal(k.current);
      out.push(await wq.waitEventInterruptible(() => false));
      k.flushSignals();
      out.push(await wq.waitEventInterruptibleTimeout(() => false, 2));
    });
    await k.run();
    expect(out).toEqual([-Errno.ERESTARTSYS, 0]);
  });

  it('an uninterruptible wait ignores signals', async () => {
    const k = new Kernel({ seed: 1 });
    const wq = new WaitQueueHead(k);
    let waiter: Thread | null = null;
    const r = await inThread(k, async () => {
      waiter = k.current;
      return wq.waitEventTimeout(() => false, 5);
    }, {
      killer: async () => {
        await msleep(k, 1);
        k.sendSignal(waiter!);
      },
    });
    expect(r.value).toBe(0);
    expect(r.timeNs).toBe(5e6);
  });
});

describe('completions', () => {
  it('complete() banks one completion; complete_all() releases every waiter for good', async () => {
    const k = new Kernel({ seed: 2 });
    const c = new Completion(k, 'c');
    const done: string[] = [];
    for (const n of ['w1', 'w2', 'w3']) {
      k.kthreadRun(n, async () => {
        await c.waitForCompletion();
        done.push(n);
      });
    }
    k.kthreadRun('signaller', async () => {
      c.complete();
      await msleep(k, 1);
      expect(done.length).toBe(1);
      c.completeAll();
      await msleep(k, 1);
      expect(c.completionDone()).toBe(true);
      expect(c.tryWaitForCompletion()).toBe(true);
    });
    const r = await k.run();
    expect(r.end).toBe('completed');
    expect(done.sort()).toEqual(['w1', 'w2', 'w3']);
  });

  it('a completion before the wait is not lost; try_wait consumes it', async () => {
    const k = new Kernel({ seed: 1 });
    const c = new Completion(k);
    const out: unknown[] = [];
    k.kthreadRun('t', async () => {
      out.push(c.tryWaitForCompletion(), c.completionDone());
      c.complete();
      c.complete();
      out.push(c.completionDone(), c.tryWaitForCompletion());
      await c.waitForCompletion();
      out.push(c.completionDone(), k.nowNs);
      c.complete();
      c.reinit();
      out.push(c.completionDone());
    });
    await k.run();
    expect(out).toEqual([false, false, true, true, false, 0, false]);
  });

  it('wait_for_completion_timeout: 0 on timeout, else remaining jiffies', async () => {
    for (const [at, expected] of [[null, 0], [4, 5]] as const) {
      const k = new Kernel({ seed: 1 });
      const c = new Completion(k);
      const r = await inThread(k, () => c.waitForCompletionTimeout(10), {
        completer: async () => {
          if (at === null) return;
          await msleep(k, at);
          c.complete();
        },
      });
      expect(r.value).toBe(expected);
    }
  });

  it('wait_for_completion_interruptible(_timeout) end with -ERESTARTSYS on a signal', async () => {
    const k = new Kernel({ seed: 1 });
    const c = new Completion(k);
    const out: number[] = [];
    const t = k.kthreadRun('w', async () => {
      out.push(await c.waitForCompletionInterruptible());
      k.flushSignals();
      out.push(await c.waitForCompletionInterruptibleTimeout(100));
    });
    k.kthreadRun('killer', async () => {
      await msleep(k, 1);
      k.sendSignal(t);
      await msleep(k, 1);
      k.sendSignal(t);
    });
    await k.run();
    expect(out).toEqual([-Errno.ERESTARTSYS, -Errno.ERESTARTSYS]);
  });
});
