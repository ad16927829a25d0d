import { describe, expect, it } from 'vitest';
import {
  allocOrderedWorkqueue,
  allocWorkqueue,
  cancelWorkSync,
  currentWork,
  destroyWorkqueue,
  flushWork,
  flushWorkqueue,
  initWork,
  Kernel,
  msleep,
  queueWork,
  scheduleWork,
  systemUnboundWq,
  systemWq,
  workPending,
  WQ_UNBOUND,
} from '../../src/kernel/index.ts';
import type { WorkStruct } from '../../src/kernel/index.ts';
import { rules } from './kernel-test-helpers.ts';

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

describe('queue_work', () => {
  it('returns false while pending and true again once the item started running', async () => {
    const k = new Kernel({ seed: 1 });
    const wq = allocWorkqueue(k, 'q');
    let runs = 0;
    const results: boolean[] = [];
    const w = initWork(k, async () => {
      runs++;
      if (runs === 1) results.push(queueWork(wq, w)); // requeue while running: PENDING was cleared
      await msleep(k, 1);
    }, 'w');
    k.kthreadRun('main', async () => {
      results.push(queueWork(wq, w), queueWork(wq, w), workPending(w));
      await flushWork(w);
      await flushWork(w);
      results.push(workPending(w));
    });
    const r = await k.run();
    expect(r.end).toBe('completed');
    expect(results).toEqual([true, false, true, true, false]);
    expect(runs).toBe(2);
  });

  it('runs the item in process context in a daemon kworker, and current_work names it', async () => {
    const k = new Kernel({ seed: 1 });
    let seen: { ctx: string; name: string; cur: WorkStruct | null } | null = null;
    const w = initWork(k, () => {
      const t = k.current;
      seen = { ctx: t.context, name: t.name, cur: currentWork(k) };
    }, 'w');
    k.kthreadRun('main', () => {
      scheduleWork(w);
    });
    const r = await k.run();
    expect(r.end).toBe('completed');
    expect(seen).toEqual({ ctx: 'process', name: 'kworker/events:0', cur: w });
  });
});

describe('flush_work / flush_workqueue', () => {
  it('flush_work returns false for an idle item and waits for a queued one', async () => {
    for (const seed of SEEDS) {
      const k = new Kernel({ seed });
      const wq = allocWorkqueue(k, 'q');
      let done = false;
      const out: unknown[] = [];
      const w = initWork(k, async () => {
        await msleep(k, 5);
        done = true;
      }, 'w');
      k.kthreadRun('main', async () => {
        out.push(await flushWork(w));
        queueWork(wq, w);
        out.push(await flushWork(w), done, k.nowNs);
      });
      const r = await k.run();
      expect(r.end).toBe('completed');
      expect(out).toEqual([false, true, true, 6e6]);
    }
  });

  it('flush_workqueue waits for items queued before it, not for items queued after', async () => {
    for (const seed of SEEDS) {
      const k = new Kernel({ seed });
      const wq = allocWorkqueue(k, 'q');
      const finished: string[] = [];
      let flushedAt = -1;
      const mk = (name: string, ms: number): WorkStruct =>
        initWork(k, async () => {
          await msleep(k, ms);
          finished.push(name);
        }, name);
      const a = mk('a', 10);
      const b = mk('b', 3);
      const late = mk('late', 50);
      k.kthreadRun('main', async () => {
        queueWork(wq, a);
        queueWork(wq, b);
        k.kthreadRun('later', async () => {
          await msleep(k, 1);
          queueWork(wq, late);
        });
        await flushWorkqueue(wq);
        flushedAt = k.nowNs;
        expect([...finished].sort()).toEqual(['a', 'b']);
      });
      const r = await k.run();
      expect(r.end).toBe('completed');
      expect(flushedAt).toBe(11e6);
      expect(finished).toEqual(['b', 'a', 'late']);
    }
  });
});

describe('ordered workqueues and max_active', () => {
  it('an ordered queue runs one item at a time in strict FIFO order, whatever the seed', async () => {
    const queueOrders = new Set<string>();
    for (const seed of SEEDS) {
      const k = new Kernel({ seed });
      const wq = allocOrderedWorkqueue(k, 'ordered');
      const log: string[] = [];
      const queued: string[] = [];
      for (const producer of ['p', 'q']) {
        const items = [1, 2, 3].map((i) =>
          initWork(k, async () => {
            log.push(`+${producer}${i}`);
            await k.schedulePoint('yield');
            await msleep(k, 1);
            log.push(`-${producer}${i}`);
          }, `${producer}${i}`),
        );
        k.kthreadRun(producer, async () => {
          for (const w of items) {
            if (queueWork(wq, w)) queued.push(w.name);
            await k.schedulePoint('yield');
          }
        });
      }
      const r = await k.run();
      expect(r.end).toBe('completed');
      expect(log).toEqual(queued.flatMap((n) => [`+${n}`, `-${n}`]));
      queueOrders.add(queued.join(','));
    }
    expect(queueOrders.size).toBeGreaterThan(1);
  });

  it('max_active bounds how many items run at once', async () => {
    for (const [maxActive, expected] of [[2, 2], [0, 5]] as const) {
      const k = new Kernel({ seed: 3 });
      const wq = allocWorkqueue(k, 'q', 0, maxActive);
      let running = 0;
      let peak = 0;
      for (let i = 0; i < 5; i++) {
        const w = initWork(k, async () => {
          peak = Math.max(peak, ++running);
          await msleep(k, 10);
          running--;
        }, `w${i}`);
        queueWork(wq, w);
      }
      const r = await k.run();
      expect(r.end).toBe('completed');
      expect(peak).toBe(expected);
      expect(r.timeNs).toBe(maxActive === 2 ? 33e6 : 11e6);
    }
  });

  it('an unbound queue lets the chooser pick which pending item starts', async () => {
    const orders = new Set<string>();
    for (const seed of SEEDS) {
      const k = new Kernel({ seed });
      const wq = allocWorkqueue(k, 'u', WQ_UNBOUND, 1);
      const log: string[] = [];
      for (const n of ['a', 'b', 'c']) queueWork(wq, initWork(k, () => void log.push(n), n));
      await k.run();
      expect([...log].sort()).toEqual(['a', 'b', 'c']);
      orders.add(log.join(''));
    }
    expect(orders.size).toBeGreaterThan(1);
  });

  it('a work item never runs concurrently with itself', async () => {
    const k = new Kernel({ seed: 5 });
    const wq = allocWorkqueue(k, 'q');
    let inside = 0;
    let peak = 0;
    let runs = 0;
    const w = initWork(k, async () => {
      peak = Math.max(peak, ++inside);
      runs++;
      await msleep(k, 2);
      inside--;
    }, 'w');
    k.kthreadRun('main', async () => {
      for (let i = 0; i < 4; i++) {
        queueWork(wq, w);
        await msleep(k, 1);
      }
    });
    await k.run();
    expect(peak).toBe(1);
    expect(runs).toBeGreaterThanOrEqual(2);
  });
});

describe('cancel_work_sync', () => {
  it('removes a pending item (returns true, it never runs)', async () => {
    const k = new Kernel({ seed: 1 });
    const wq = allocWorkqueue(k, 'q');
    let ran = false;
    const w = initWork(k, () => {
      ran = true;
    }, 'w');
    let ret: boolean | null = null;
    k.kthreadRun('main', async () => {
      queueWork(wq, w);
      ret = await cancelWorkSync(w);
    });
    // The worker can only start after main's first scheduling point: cancel comes first.
    const r = await k.run();
    expect(r.end).toBe('completed');
    expect(ret).toBe(true);
    expect(ran).toBe(false);
  });

  it('waits for a running item, and queueing during the cancel fails', async () => {
    for (const seed of SEEDS) {
      const k = new Kernel({ seed });
      const wq = allocWorkqueue(k, 'q');
      let finished = false;
      let started = false;
      const w = initWork(k, async () => {
        started = true;
        await msleep(k, 5);
        finished = true;
      }, 'w');
      const out: unknown[] = [];
      k.kthreadRun('main', async () => {
        queueWork(wq, w);
        while (!started) await msleep(k, 1);
        k.kthreadRun('requeue', () => {
          out.push(['requeue during cancel', queueWork(wq, w)]);
        });
        out.push(await cancelWorkSync(w), finished);
      });
      const r = await k.run();
      expect(r.end).toBe('completed');
      // The requeue thread runs while cancel_work_sync waits: refused.
      expect(out).toEqual([['requeue during cancel', false], false, true]);
    }
  });
});

describe('destroy_workqueue', () => {
  it('drains queued and chained work, then queueing on it is reported', async () => {
    const k = new Kernel({ seed: 2 });
    const wq = allocWorkqueue(k, 'q');
    const log: string[] = [];
    const second = initWork(k, async () => {
      await msleep(k, 1);
      log.push('second');
    }, 'second');
    const first = initWork(k, async () => {
      await msleep(k, 1);
      log.push('first');
      queueWork(wq, second); // chained: allowed while draining
    }, 'first');
    const out: boolean[] = [];
    k.kthreadRun('main', async () => {
      queueWork(wq, first);
      await destroyWorkqueue(wq);
      log.push('destroyed');
      out.push(queueWork(wq, first));
    });
    const r = await k.run();
    expect(r.end).toBe('completed');
    expect(log).toEqual(['first', 'second', 'destroyed']);
    expect(out).toEqual([false]);
    expect(rules(r)).toEqual(['workqueue.use_after_destroy']);
    expect([...r.exits.keys()]).toContain('kworker/q:0');
  });

  it('queueing from outside while draining is a WARN and is dropped', async () => {
    const k = new Kernel({ seed: 2 });
    const wq = allocWorkqueue(k, 'q');
    let otherRan = false;
    const slow = initWork(k, async () => {
      await msleep(k, 10);
    }, 'slow');
    const other = initWork(k, () => {
      otherRan = true;
    }, 'other');
    k.kthreadRun('main', async () => {
      queueWork(wq, slow);
      k.kthreadRun('intruder', async () => {
        await msleep(k, 2);
        expect(queueWork(wq, other)).toBe(true);
      });
      await destroyWorkqueue(wq);
    });
    const r = await k.run();
    expect(rules(r)).toEqual(['workqueue.queue_while_draining']);
    expect(r.splats[0]!.headline).toBe('WARNING: workqueue: cannot queue other on wq q');
    expect(otherRan).toBe(false);
  });
});

describe('system workqueues', () => {
  it('are created once per kernel with the kernel names', () => {
    const k = new Kernel();
    expect(systemWq(k)).toBe(systemWq(k));
    expect(systemWq(k).name).toBe('events');
    expect(systemUnboundWq(k).name).toBe('events_unbound');
    expect(systemUnboundWq(k).flags & WQ_UNBOUND).toBe(WQ_UNBOUND);
    expect(systemWq(new Kernel())).not.toBe(systemWq(k));
  });
});
