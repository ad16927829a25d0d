import { describe, expect, it } from 'vitest';
import { GFP_KERNEL, HrTimer, Kernel, kmalloc, msleep, ReplayChooser, SpinLock, TimerList } from '../../src/kernel/index.ts';
import { rules } from './kernel-test-helpers.ts';

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

describe('timer_list', () => {
  it('mod_timer returns 0 when inactive and 1 when it re-armed a pending timer; the callback runs at the last expiry', async () => {
    const k = new Kernel({ seed: 1 });
    const fired: number[] = [];
    const t = new TimerList(k, () => fired.push(k.nowNs), 'tl');
    const out: number[] = [];
    k.kthreadRun('main', async () => {
      out.push(t.modTimer(k.jiffies + 5));
      out.push(t.modTimer(k.jiffies + 8));
      out.push(Number(t.pending()));
      await msleep(k, 20);
      out.push(Number(t.pending()), t.modTimer(k.jiffies + 1));
    });
    await k.run();
    expect(out).toEqual([0, 1, 1, 0, 0]);
    expect(fired).toEqual([8e6, 22e6]);
  });

  it('timer_delete returns 1 for a pending timer, which then never fires', async () => {
    const k = new Kernel({ seed: 1 });
    let fired = false;
    const t = new TimerList(k, () => {
      fired = true;
    });
    const out: number[] = [];
    k.kthreadRun('main', () => {
      t.modTimer(10);
      out.push(t.timerDelete(), t.timerDelete());
    });
    const r = await k.run();
    expect(out).toEqual([1, 0]);
    expect(fired).toBe(false);
    expect(r.timeNs).toBe(0);
  });

  it('the callback runs in softirq context, atomic; sleeping there is reported', async () => {
    const k = new Kernel({ seed: 1 });
    let ctx: unknown[] = [];
    const t = new TimerList(k, () => {
      ctx = [k.current.context, k.current.atomic, k.current.name];
      kmalloc(k, 8, GFP_KERNEL);
    }, 'wd');
    k.kthreadRun('main', () => {
      t.modTimer(1);
    });
    const r = await k.run();
    expect(ctx).toEqual(['softirq', true, 'timer:wd']);
    expect(rules(r)).toEqual(['sched.might_sleep']);
    expect(r.splats[0]!.thread).toBe('timer:wd');
  });

  it('an async callback that sleeps is reported as might_sleep in the softirq context', async () => {
    const k = new Kernel({ seed: 1 });
    // eslint-disable-next-line @typescript-eslint/no-misused-promises -- the bug under test
    const t = new TimerList(k, async () => {
      await msleep(k, 1);
    }, 'sleepy');
    k.kthreadRun('main', () => {
      t.modTimer(1);
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(rules(r)).toContain('sched.might_sleep');
    expect(r.splats[0]!.thread).toBe('timer:sleepy');
  });

  it('timer_delete_sync waits for a callback that is already running', async () => {
    let waited = 0;
    for (const seed of SEEDS) {
      const k = new Kernel({ seed });
      let ran = false;
      const t = new TimerList(k, () => {
        ran = true;
      }, 'tl');
      let result: [number, boolean, boolean] | null = null;
      k.kthreadRun('main', async () => {
        t.modTimer(11);
        await msleep(k, 10); // wakes at 11 ms, together with the timer
        const before = ran;
        const r = await t.timerDeleteSync();
        result = [r, before, ran];
      });
      await k.run();
      const [r, before, after] = result!;
      expect(after).toBe(r === 0); // deleted while pending: it never runs; otherwise it has finished
      if (r === 0 && !before) waited++;
    }
    expect(waited).toBeGreaterThan(0);
  });

  it('timer_delete_sync also deactivates a timer its running callback re-armed', async () => {
    for (const seed of SEEDS) {
      const k = new Kernel({ seed, limits: { maxVirtualTimeNs: 1e9 } });
      let fires = 0;
      const t: TimerList = new TimerList(k, () => {
        fires++;
        t.modTimer(k.jiffies + 1); // a self-rearming watchdog
      }, 'wd');
      let pendingAfter = true;
      k.kthreadRun('main', async () => {
        t.modTimer(k.jiffies + 1);
        await msleep(k, 4);
        await t.timerDeleteSync();
        pendingAfter = t.pending();
      });
      const r = await k.run();
      expect(r.end).toBe('completed');
      expect(pendingAfter).toBe(false);
      expect(fires).toBeGreaterThanOrEqual(4);
      expect(fires).toBeLessThanOrEqual(5);
    }
  });

  it('a spinlock taken in the callback and in process context with softirqs on is the classic inversion', async () => {
    // Not an interleaving the model can produce (softirqs never interrupt a
    // thread between awaits): the lockdep checker finds it from the usage
    // history. Here: the acquisition records the context facts it needs.
    const k = new Kernel({ seed: 1 });
    const lock = new SpinLock(k, 'l');
    const seen: [boolean, boolean][] = [];
    const t = new TimerList(k, () => {
      lock.lock();
      seen.push([k.current.held.at(-1)!.softirqsOn, k.current.inSoftirq]);
      lock.unlock();
    });
    k.kthreadRun('main', () => {
      lock.lock();
      seen.push([k.current.held.at(-1)!.softirqsOn, k.current.inSoftirq]);
      lock.unlock();
      t.modTimer(1);
    });
    await k.run();
    expect(seen).toEqual([[true, false], [false, true]]);
  });
});

describe('hrtimers', () => {
  it('restart with forward_now makes a periodic timer; cancel stops it', async () => {
    const k = new Kernel({ seed: 1 });
    const ticks: number[] = [];
    const h = new HrTimer(k, (self) => {
      ticks.push(k.nowNs);
      self.forwardNow(250_000);
      return 'restart';
    }, 'hard', 'tick');
    k.kthreadRun('main', async () => {
      h.start(250_000);
      await msleep(k, 0); // 1 ms
      expect(h.active()).toBe(true);
      expect(await h.cancel()).toBe(1);
      expect(h.active()).toBe(false);
    });
    const r = await k.run();
    expect(r.end).toBe('completed');
    expect(ticks.slice(0, 3)).toEqual([250_000, 500_000, 750_000]);
    expect(ticks.every((t) => t <= 1e6)).toBe(true);
  });

  it('cancel stops a periodic timer whatever the interleaving with its callback', async () => {
    for (const seed of SEEDS) {
      const k = new Kernel({ seed, limits: { maxVirtualTimeNs: 1e9 } });
      const h = new HrTimer(k, (self) => {
        self.forwardNow(1e6);
        return 'restart';
      }, 'soft', 'periodic');
      k.kthreadRun('main', async () => {
        h.start(1e6);
        await msleep(k, 2); // 3 ms: expires together with the timer
        await h.cancel();
      });
      const r = await k.run();
      expect(r.end).toBe('completed');
      expect(r.timeNs).toBe(3e6);
    }
  });

  it('hard mode runs in hardirq context, soft mode in softirq context', async () => {
    const k = new Kernel({ seed: 1 });
    const ctx: Record<string, string> = {};
    for (const mode of ['hard', 'soft'] as const) {
      const h = new HrTimer(k, () => {
        ctx[mode] = k.current.context;
        return 'norestart';
      }, mode);
      k.kthreadRun(mode, () => {
        h.start(10);
      });
    }
    await k.run();
    expect(ctx).toEqual({ hard: 'hardirq', soft: 'softirq' });
  });

  it('try_to_cancel returns 1 for a queued timer and 0 for an idle one', async () => {
    const k = new Kernel({ seed: 1 });
    const h = new HrTimer(k, () => 'norestart');
    const out: number[] = [];
    k.kthreadRun('main', () => {
      out.push(h.tryToCancel());
      h.start(1000);
      out.push(h.tryToCancel(), h.tryToCancel());
    });
    await k.run();
    expect(out).toEqual([0, 1, 0]);
  });
});

describe('simultaneous timers', () => {
  it('are ordered by the chooser: seeds differ, replay reproduces the order', async () => {
    const orderOf = async (k: Kernel): Promise<{ order: string; schedule: ReturnType<Kernel['run']> extends Promise<infer R> ? R : never }> => {
      const order: string[] = [];
      for (const n of ['a', 'b', 'c']) {
        // Same timer name on purpose: the schedule must still tell them apart.
        const t = new TimerList(k, () => order.push(n), 'watchdog');
        k.kthreadRun(`arm-${n}`, () => {
          t.modTimer(5);
        });
      }
      const r = await k.run();
      return { order: order.join(''), schedule: r };
    };
    const orders = new Map<string, number>();
    for (const seed of SEEDS) {
      const first = await orderOf(new Kernel({ seed }));
      orders.set(first.order, seed);
      const replay = await orderOf(new Kernel({ chooser: new ReplayChooser(first.schedule.schedule) }));
      expect(replay.order).toBe(first.order);
      expect(first.schedule.schedule.decisions.some((d) => d.kind === 'timer')).toBe(true);
    }
    expect(orders.size).toBeGreaterThan(1);
  });
});
