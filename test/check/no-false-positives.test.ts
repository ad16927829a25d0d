/**
 * The kernel's own clean workloads report nothing with lockdep on: many
 * threads taking locks in one order, timers, completions, wait queues,
 * workqueues, ww transactions with back-off, rwsem readers and writers.
 */
import { describe, expect, it } from 'vitest';
import {
  allocWorkqueue,
  Completion,
  defineWdClass,
  flushWork,
  GFP_KERNEL,
  initWork,
  kmalloc,
  msleep,
  Mutex,
  queueWork,
  RwSemaphore,
  SpinLock,
  TimerList,
  WaitQueueHead,
  WwAcquireCtx,
  WwMutex,
} from '../../src/kernel/index.ts';
import { rulesOf, runChecked } from './helpers.ts';

describe('no false positives', () => {
  it('16 threads taking four locks of different kinds in one order', async () => {
    for (const seed of [1, 2, 3]) {
      const r = await runChecked(
        (k) => {
          const m = new Mutex(k, 'outer');
          const rw = new RwSemaphore(k, 'table');
          const s = new SpinLock(k, 'stats');
          const m2 = new Mutex(k, 'inner');
          for (let i = 0; i < 16; i++) {
            k.kthreadRun(`w${i}`, async () => {
              for (let j = 0; j < 5; j++) {
                await m.lock();
                if ((i + j) % 2) await rw.downRead();
                else await rw.downWrite();
                await m2.lock();
                kmalloc(k, 16, GFP_KERNEL);
                s.lock();
                s.unlock();
                m2.unlock();
                if ((i + j) % 2) rw.upRead();
                else rw.upWrite();
                m.unlock();
                await msleep(k, 1);
              }
            });
          }
        },
        { seed },
      );
      expect(r.end).toBe('completed');
      expect(rulesOf(r)).toEqual([]);
    }
  });

  it('timers, completions and wait queues', async () => {
    const r = await runChecked((k) => {
      const lock = new SpinLock(k, 'dev_lock');
      const wq = new WaitQueueHead(k, 'events');
      const done = new Completion(k, 'done');
      let events = 0;
      const timer = new TimerList(k, (t) => {
        lock.lock();
        events++;
        lock.unlock();
        wq.wakeUpAll();
        if (events < 5) t.modTimer(k.jiffies + 2);
      }, 'tick');
      k.kthreadRun('waiter', async () => {
        await wq.waitEvent(() => {
          lock.lockBh();
          const n = events;
          lock.unlockBh();
          return n >= 5;
        });
        done.complete();
      });
      k.kthreadRun('arm', async () => {
        timer.modTimer(k.jiffies + 1);
        await done.waitForCompletion();
        await timer.timerDeleteSync();
      });
    });
    expect(r.end).toBe('completed');
    expect(rulesOf(r)).toEqual([]);
  });

  it('work items flushed without holding what they take', async () => {
    const r = await runChecked((k) => {
      const wq = allocWorkqueue(k, 'events_unbound');
      const m = new Mutex(k, 'state');
      const work = initWork(k, async () => {
        await m.lock();
        m.unlock();
      }, 'update');
      k.kthreadRun('t', async () => {
        await m.lock();
        queueWork(wq, work);
        m.unlock();
        await flushWork(work);
      });
    });
    expect(rulesOf(r)).toEqual([]);
  });

  it('ww transactions on the resv class with back-off', async () => {
    const cls = defineWdClass('reservation_ww_class');
    for (const seed of [1, 2, 3, 4]) {
      const r = await runChecked(
        (k) => {
          const bos = [0, 1, 2, 3].map((i) => new WwMutex(k, cls, `bo${i}`));
          for (let t = 0; t < 3; t++) {
            k.kthreadRun(`exec${t}`, async () => {
              const order = t % 2 ? [...bos].reverse() : bos;
              const ctx = new WwAcquireCtx(k, cls);
              const held: WwMutex[] = [];
              let contended: WwMutex | null = null;
              for (;;) {
                let ok = true;
                if (contended) {
                  await contended.lockSlow(ctx);
                  held.push(contended);
                }
                for (const bo of order) {
                  if (bo === contended) continue;
                  const ret = await bo.lock(ctx);
                  if (ret === -35) {
                    for (const h of held) h.unlock();
                    held.length = 0;
                    contended = bo;
                    ok = false;
                    break;
                  }
                  held.push(bo);
                }
                if (ok) break;
              }
              ctx.done();
              kmalloc(k, 64, GFP_KERNEL); // allowed under resv locks
              for (const h of held) h.unlock();
              ctx.fini();
            });
          }
        },
        { seed },
      );
      expect(r.end).toBe('completed');
      expect(rulesOf(r)).toEqual([]);
    }
  });
});
