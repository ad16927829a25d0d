import { describe, expect, it } from 'vitest';
import {
  allocWorkqueue,
  cancelDelayedWork,
  cancelDelayedWorkSync,
  destroyWorkqueue,
  flushDelayedWork,
  initDelayedWork,
  Kernel,
  modDelayedWork,
  msleep,
  queueDelayedWork,
  queueWork,
  workPending,
} from '../../src/kernel/index.ts';
import { rules } from './kernel-test-helpers.ts';

describe('delayed work', () => {
  it('runs after exactly `delay` jiffies; pending while the timer is armed', async () => {
    const k = new Kernel({ seed: 1, hz: 250 });
    const wq = allocWorkqueue(k, 'q');
    let ranAt = -1;
    const dw = initDelayedWork(k, () => {
      ranAt = k.nowNs;
    }, 'dw');
    const out: unknown[] = [];
    k.kthreadRun('main', () => {
      out.push(queueDelayedWork(wq, dw, 3), workPending(dw), dw.timerPending, queueDelayedWork(wq, dw, 1), queueWork(wq, dw));
    });
    const r = await k.run();
    expect(r.end).toBe('completed');
    expect(out).toEqual([true, true, true, false, false]);
    expect(ranAt).toBe(12e6); // 3 jiffies at HZ=250
  });

  it('delay 0 queues at once', async () => {
    const k = new Kernel({ seed: 1 });
    const wq = allocWorkqueue(k, 'q');
    let ranAt = -1;
    const dw = initDelayedWork(k, () => {
      ranAt = k.nowNs;
    });
    k.kthreadRun('main', () => {
      queueDelayedWork(wq, dw, 0);
      expect(dw.timerPending).toBe(false);
    });
    await k.run();
    expect(ranAt).toBe(0);
  });

  it('mod_delayed_work returns false when idle, true when it replaced a pending timer, and uses the new delay', async () => {
    const k = new Kernel({ seed: 1 });
    const wq = allocWorkqueue(k, 'q');
    const runs: number[] = [];
    const dw = initDelayedWork(k, () => {
      runs.push(k.nowNs);
    }, 'dw');
    const out: boolean[] = [];
    k.kthreadRun('main', async () => {
      out.push(modDelayedWork(wq, dw, 10));
      await msleep(k, 2); // now 3 ms
      out.push(modDelayedWork(wq, dw, 20));
    });
    await k.run();
    expect(out).toEqual([false, true]);
    expect(runs).toEqual([23e6]);
  });

  it('cancel_delayed_work disarms the timer (true) and the item never runs', async () => {
    const k = new Kernel({ seed: 1 });
    const wq = allocWorkqueue(k, 'q');
    let ran = false;
    const dw = initDelayedWork(k, () => {
      ran = true;
    });
    const out: boolean[] = [];
    k.kthreadRun('main', async () => {
      queueDelayedWork(wq, dw, 5);
      await msleep(k, 1);
      out.push(cancelDelayedWork(dw), cancelDelayedWork(dw), workPending(dw));
    });
    const r = await k.run();
    expect(out).toEqual([true, false, false]);
    expect(ran).toBe(false);
    expect(r.timeNs).toBe(2e6); // the cancelled timer no longer keeps the run going
  });

  it('cancel_delayed_work_sync waits for a running instance', async () => {
    const k = new Kernel({ seed: 1 });
    const wq = allocWorkqueue(k, 'q');
    let finished = false;
    const dw = initDelayedWork(k, async () => {
      await msleep(k, 10);
      finished = true;
    });
    const out: unknown[] = [];
    k.kthreadRun('main', async () => {
      queueDelayedWork(wq, dw, 1);
      await msleep(k, 5);
      out.push(await cancelDelayedWorkSync(dw), finished, k.nowNs);
    });
    await k.run();
    expect(out).toEqual([false, true, 12e6]);
  });

  it('flush_delayed_work runs an armed item now and waits for it', async () => {
    const k = new Kernel({ seed: 1 });
    const wq = allocWorkqueue(k, 'q');
    let ranAt = -1;
    const dw = initDelayedWork(k, () => {
      ranAt = k.nowNs;
    });
    const out: unknown[] = [];
    k.kthreadRun('main', async () => {
      queueDelayedWork(wq, dw, 1000);
      out.push(await flushDelayedWork(dw), k.nowNs);
    });
    const r = await k.run();
    expect(out).toEqual([true, 0]);
    expect(ranAt).toBe(0);
    expect(r.timeNs).toBe(0);
  });

  it('a delayed item whose timer fires while its queue is destroyed is reported', async () => {
    const k = new Kernel({ seed: 1 });
    const wq = allocWorkqueue(k, 'q');
    const slow = initDelayedWork(k, async () => {
      await msleep(k, 10);
    }, 'slow');
    const late = initDelayedWork(k, () => {}, 'late');
    k.kthreadRun('main', async () => {
      queueDelayedWork(wq, slow, 0);
      queueDelayedWork(wq, late, 5); // forgot cancel_delayed_work_sync before destroy
      await destroyWorkqueue(wq);
    });
    const r = await k.run();
    expect(rules(r)).toEqual(['workqueue.queue_while_draining']);
  });
});
