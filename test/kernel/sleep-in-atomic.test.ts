/**
 * Sleeping operations called where the caller cannot be suspended (fence
 * callbacks, IRQ handlers, timer callbacks): a might_sleep splat, then the
 * thread goes on (`Kernel.sleeping`), instead of the run failing.
 */
import { describe, expect, it } from 'vitest';
import { DmaFence, DmaFenceCb } from '../../src/fence/index.ts';
import type { DmaFenceOps } from '../../src/fence/index.ts';
import {
  Completion,
  IRQ_HANDLED,
  Kernel,
  msleep,
  Mutex,
  raiseIrq,
  requestIrq,
  SpinLock,
  TimerList,
} from '../../src/kernel/index.ts';
import type { RunResult } from '../../src/kernel/index.ts';

const ops: DmaFenceOps = { getDriverName: () => 'test', getTimelineName: () => 'tl' };
const rules = (r: RunResult): string[] => r.splats.map((s) => s.rule);

async function run(setup: (k: Kernel) => void): Promise<RunResult> {
  const k = new Kernel({ seed: 1 });
  setup(k);
  const r = await k.run();
  expect(r.failure).toBeNull();
  return r;
}

describe('sleeping in a synchronous atomic callback', () => {
  it('mutex_lock of a free mutex in a fence callback: might_sleep, taken at once, the signaller goes on', async () => {
    const log: string[] = [];
    const r = await run((k) => {
      const m = new Mutex(k, 'drv->lock');
      k.kthreadRun('signaller', () => {
        const f = new DmaFence(k, ops, new SpinLock(k, 'f'), 1, 1);
        f.addCallback(new DmaFenceCb(), () => {
          void m.lock();
          log.push(`locked by ${m.owner?.name ?? 'nobody'}`);
          m.unlock();
        });
        f.signal();
        log.push('after signal');
      });
    });
    expect(rules(r)).toEqual(['sched.might_sleep']);
    expect(r.splats[0]!.headline).toBe('BUG: sleeping function called from invalid context at mutex_lock');
    expect(log).toEqual(['locked by signaller', 'after signal']);
    expect(r.exits.get('signaller')).toBe(0);
  });

  it('mutex_lock of a held mutex in a fence callback: scheduling while atomic, the context dies as with BUG()', async () => {
    const r = await run((k) => {
      const m = new Mutex(k, 'drv->lock');
      const held = new Completion(k);
      k.kthreadRun('holder', async () => {
        await m.lock();
        held.complete();
        await msleep(k, 10);
        m.unlock();
      });
      k.kthreadRun('signaller', async () => {
        await held.waitForCompletion();
        const f = new DmaFence(k, ops, new SpinLock(k, 'f'), 1, 1);
        f.addCallback(new DmaFenceCb(), () => {
          void m.lock();
        });
        f.signal();
      });
    });
    expect(rules(r)).toContain('sched.might_sleep');
    expect(rules(r)).toContain('sched.scheduling_while_atomic');
    expect(r.splats.find((s) => s.rule === 'sched.scheduling_while_atomic')!.body).toContain('nothing else can run until it returns');
    expect(r.exits.get('signaller')).toBe(-1);
    expect(r.exits.get('holder')).toBe(0);
  });

  it('msleep in a hard IRQ handler: might_sleep, takes no time, the handler finishes', async () => {
    let after = -1;
    const r = await run((k) => {
      requestIrq(k, 9, () => {
        void msleep(k, 5);
        after = k.nowNs;
        return IRQ_HANDLED;
      }, 'dev');
      k.kthreadRun('dev', () => {
        raiseIrq(k, 9);
      });
    });
    expect(rules(r)).toEqual(['sched.might_sleep']);
    expect(after).toBe(0);
  });

  it('a fence wait in a timer callback: a signalled fence returns at once, a pending one with a timeout times out', async () => {
    const got: number[] = [];
    const r = await run((k) => {
      const done = new DmaFence(k, ops, new SpinLock(k, 'a'), 1, 1);
      const pending = new DmaFence(k, ops, new SpinLock(k, 'b'), 2, 1);
      const t = new TimerList(k, () => {
        void done.waitTimeout(false, 10).then((v) => got.push(v));
        void pending.waitTimeout(false, 10).then((v) => got.push(v));
      }, 'wd');
      k.kthreadRun('main', () => {
        done.signal();
        t.modTimer(1);
      });
    });
    expect(rules(r)).toEqual(['sched.might_sleep']);
    expect(got).toEqual([10, 0]);
  });

  it('a thread that can be suspended still sleeps (and is reported) when it awaits under a spinlock', async () => {
    const r = await run((k) => {
      const s = new SpinLock(k, 's');
      const m = new Mutex(k, 'm');
      k.kthreadRun('t', async () => {
        s.lock();
        await m.lock();
        m.unlock();
        s.unlock();
      });
    });
    expect(rules(r)).toEqual(['sched.might_sleep']);
  });
});
