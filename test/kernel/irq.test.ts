import { describe, expect, it } from 'vitest';
import {
  disableIrq,
  enableIrq,
  Errno,
  freeIrq,
  GFP_KERNEL,
  HrTimer,
  initIrqWork,
  IRQ_HANDLED,
  IRQ_NONE,
  IRQ_WAKE_THREAD,
  IRQF_ONESHOT,
  IRQF_SHARED,
  irqToDesc,
  irqWorkIsBusy,
  irqWorkQueue,
  irqWorkSync,
  Kernel,
  kmalloc,
  LdWait,
  localBhDisable,
  localBhEnable,
  localIrqRestore,
  localIrqSave,
  msleep,
  preemptDisable,
  preemptEnable,
  raiseIrq,
  requestIrq,
  requestThreadedIrq,
  synchronizeIrq,
} from '../../src/kernel/index.ts';
import type { IrqReturn } from '../../src/kernel/index.ts';
import { rules } from './kernel-test-helpers.ts';

describe('request_irq and delivery', () => {
  it('a raised IRQ runs the handler in hardirq context, threadable for the wait-context check', async () => {
    const k = new Kernel({ seed: 1 });
    const seen: unknown[] = [];
    expect(requestIrq(k, 5, (irq, dev) => {
      const t = k.current;
      seen.push(irq, dev, t.context, t.atomic, t.hardirqsEnabled, t.waitCtx === LdWait.CONFIG);
      return IRQ_HANDLED;
    }, 'dev', { devId: 'cookie' })).toBe(0);
    k.kthreadRun('device', () => {
      raiseIrq(k, 5);
    });
    const r = await k.run();
    expect(r.end).toBe('completed');
    expect(seen).toEqual([5, 'cookie', 'hardirq', true, false, true]);
    expect(irqToDesc(k, 5).count).toBe(1);
  });

  it('a hard hrtimer context allows only raw spinlocks (wait context SPIN), a soft one CONFIG', async () => {
    const k = new Kernel({ seed: 1 });
    const ctx: Record<string, number> = {};
    for (const mode of ['hard', 'soft'] as const) {
      const h = new HrTimer(k, () => {
        ctx[mode] = k.current.waitCtx;
        return 'norestart';
      }, mode, mode);
      k.kthreadRun(`arm-${mode}`, () => {
        h.start(1000);
      });
    }
    await k.run();
    expect(ctx).toEqual({ hard: LdWait.SPIN, soft: LdWait.CONFIG });
  });

  it('refuses a second non-shared handler (-EBUSY) and accepts shared ones; each sees its dev_id', async () => {
    const k = new Kernel({ seed: 1 });
    const got: unknown[] = [];
    const h = (irq: number, dev: unknown): IrqReturn => {
      got.push(dev);
      return dev === 'b' ? IRQ_HANDLED : IRQ_NONE;
    };
    expect(requestIrq(k, 1, h, 'x')).toBe(0);
    expect(requestIrq(k, 1, h, 'y')).toBe(-Errno.EBUSY);
    expect(requestIrq(k, 2, h, 'a', { flags: IRQF_SHARED, devId: 'a' })).toBe(0);
    expect(requestIrq(k, 2, h, 'b', { flags: IRQF_SHARED, devId: 'b' })).toBe(0);
    expect(requestIrq(k, 2, h, 'c', { flags: IRQF_SHARED })).toBe(-Errno.EINVAL);
    k.kthreadRun('dev', () => {
      raiseIrq(k, 2);
    });
    await k.run();
    expect(got).toEqual(['a', 'b']);
  });

  it('raising twice before delivery coalesces into one handler run', async () => {
    const k = new Kernel({ seed: 1 });
    let n = 0;
    requestIrq(k, 3, () => (n++, IRQ_HANDLED), 'dev');
    k.kthreadRun('dev', async () => {
      raiseIrq(k, 3);
      raiseIrq(k, 3);
      await msleep(k, 1);
      raiseIrq(k, 3);
    });
    await k.run();
    expect(n).toBe(2);
  });

  it('sleeping in a hardirq handler is reported', async () => {
    const k = new Kernel({ seed: 1 });
    requestIrq(k, 4, () => {
      kmalloc(k, 16, GFP_KERNEL);
      return IRQ_HANDLED;
    }, 'bad');
    k.kthreadRun('dev', () => {
      raiseIrq(k, 4);
    });
    const r = await k.run();
    expect(rules(r)).toEqual(['sched.might_sleep']);
    expect(r.splats[0]!.thread).toBe('irq/4');
  });
});

describe('threaded IRQs', () => {
  it('IRQ_WAKE_THREAD runs the thread function in process context, where it may sleep', async () => {
    const k = new Kernel({ seed: 1 });
    const log: string[] = [];
    requestThreadedIrq(k, 9, () => (log.push('hardirq'), IRQ_WAKE_THREAD), async () => {
      log.push(`thread:${k.current.context}:${k.current.name}`);
      await msleep(k, 1);
      log.push('thread done');
      return IRQ_HANDLED;
    }, 'gpu');
    k.kthreadRun('dev', () => {
      raiseIrq(k, 9);
    });
    const r = await k.run();
    expect(r.end).toBe('completed');
    expect(r.splats).toEqual([]);
    expect(log).toEqual(['hardirq', 'thread:process:irq/9-gpu', 'thread done']);
  });

  it('a null primary handler needs IRQF_ONESHOT; a oneshot line stays masked until the thread returns', async () => {
    const k = new Kernel({ seed: 1 });
    const thread = async (): Promise<IrqReturn> => {
      runs++;
      await msleep(k, 5);
      return IRQ_HANDLED;
    };
    let runs = 0;
    expect(requestThreadedIrq(k, 10, null, thread, 'x')).toBe(-Errno.EINVAL);
    expect(requestThreadedIrq(k, 10, null, thread, 'x', { flags: IRQF_ONESHOT })).toBe(0);
    const masked: boolean[] = [];
    k.kthreadRun('dev', async () => {
      raiseIrq(k, 10);
      await msleep(k, 1);
      masked.push(irqToDesc(k, 10).oneshotMasked);
      raiseIrq(k, 10); // pending until unmasked
      await synchronizeIrq(k, 10);
    });
    const r = await k.run();
    expect(r.end).toBe('completed');
    expect(masked).toEqual([true]);
    expect(runs).toBe(2);
  });

  it('free_irq waits for the running thread function and stops the irq thread', async () => {
    const k = new Kernel({ seed: 1 });
    let finished = false;
    requestThreadedIrq(k, 11, () => IRQ_WAKE_THREAD, async () => {
      await msleep(k, 3);
      finished = true;
      return IRQ_HANDLED;
    }, 'nic');
    const out: unknown[] = [];
    k.kthreadRun('driver', async () => {
      raiseIrq(k, 11);
      await msleep(k, 1);
      out.push(await freeIrq(k, 11), finished, await freeIrq(k, 11));
    });
    const r = await k.run();
    expect(out).toEqual(['nic', true, null]);
    expect(r.exits.get('irq/11-nic')).toBe(0);
    expect(rules(r)).toEqual(['irq.free_already_free']);
  });
});

describe('disable_irq / enable_irq', () => {
  it('an IRQ raised while disabled is delivered on enable; unbalanced enable warns', async () => {
    const k = new Kernel({ seed: 1 });
    const log: string[] = [];
    requestIrq(k, 6, () => (log.push(`irq@${k.nowNs}`), IRQ_HANDLED), 'dev');
    k.kthreadRun('driver', async () => {
      await disableIrq(k, 6);
      raiseIrq(k, 6);
      await msleep(k, 2);
      log.push('enable');
      enableIrq(k, 6);
      await msleep(k, 1);
      enableIrq(k, 6);
    });
    const r = await k.run();
    expect(log).toEqual(['enable', 'irq@3000000']);
    expect(rules(r)).toEqual(['irq.unbalanced_enable']);
  });

  it('disable_irq waits for an in-flight interrupt, which stays pending until enable_irq', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const k = new Kernel({ seed });
      let handled = 0;
      requestIrq(k, 7, () => (handled++, IRQ_HANDLED), 'dev');
      const out: unknown[] = [];
      k.kthreadRun('driver', async () => {
        raiseIrq(k, 7); // in flight: its hardirq context is runnable
        await disableIrq(k, 7);
        out.push(handled, irqToDesc(k, 7).inflight, irqToDesc(k, 7).pending);
        enableIrq(k, 7);
        await synchronizeIrq(k, 7);
        out.push(handled);
      });
      const r = await k.run();
      expect(r.end).toBe('completed');
      expect(out).toEqual([0, null, true, 1]);
    }
  });
});

describe('irq_work', () => {
  it('runs the callback in hardirq context; queueing while pending returns false; sync waits', async () => {
    for (const seed of [1, 2, 3]) {
      const k = new Kernel({ seed });
      const ctx: Record<string, [string, number]> = {};
      const main: boolean[] = [];
      const w = initIrqWork(k, () => {
        ctx.plain = [k.current.context, k.current.waitCtx];
      }, 'signal');
      const hard = initIrqWork(k, () => {
        ctx.hard = [k.current.context, k.current.waitCtx];
      }, 'hard', { hard: true });
      k.kthreadRun('main', async () => {
        main.push(irqWorkQueue(w), irqWorkQueue(w), irqWorkIsBusy(w));
        irqWorkQueue(hard);
        await irqWorkSync(w);
        main.push(irqWorkIsBusy(w), ctx.plain !== undefined);
      });
      const r = await k.run();
      expect(r.end).toBe('completed');
      expect(main).toEqual([true, false, true, false, true]);
      expect(ctx).toEqual({ plain: ['hardirq', LdWait.CONFIG], hard: ['hardirq', LdWait.SPIN] });
    }
  });

  it('a callback may requeue itself', async () => {
    const k = new Kernel({ seed: 1 });
    let n = 0;
    const w = initIrqWork(k, (self) => {
      if (++n < 3) expect(irqWorkQueue(self)).toBe(true);
    });
    k.kthreadRun('main', () => {
      irqWorkQueue(w);
    });
    await k.run();
    expect(n).toBe(3);
  });
});

describe('irqflags helpers', () => {
  it('local_irq_save/restore, local_bh_disable and preempt_disable make the section atomic', async () => {
    const k = new Kernel({ seed: 1 });
    const states: unknown[] = [];
    k.kthreadRun('t', () => {
      const t = k.current;
      const flags = localIrqSave(k);
      states.push(t.hardirqsEnabled, t.atomic);
      localIrqRestore(k, flags);
      localBhDisable(k);
      states.push(t.softirqsEnabled, t.preemptCount);
      kmalloc(k, 8, GFP_KERNEL); // might_sleep in a bh-disabled section
      localBhEnable(k);
      preemptDisable(k);
      states.push(t.atomic);
      preemptEnable(k);
      preemptEnable(k); // underflow
      states.push(t.atomic, t.preemptCount);
    });
    const r = await k.run();
    expect(states).toEqual([false, true, false, 0x200, true, false, 0]);
    expect(rules(r)).toEqual(['sched.might_sleep', 'sched.preempt_count_underflow']);
  });
});
