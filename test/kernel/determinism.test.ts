import { describe, expect, it } from 'vitest';
import {
  allocWorkqueue,
  callRcu,
  Completion,
  flushWorkqueue,
  GFP_KERNEL,
  HrTimer,
  initDelayedWork,
  initIrqWork,
  initWork,
  IRQ_HANDLED,
  IRQ_WAKE_THREAD,
  irqWorkQueue,
  kfree,
  kmalloc,
  msleep,
  Mutex,
  queueDelayedWork,
  queueWork,
  raiseIrq,
  RcuHead,
  rcuReadLock,
  rcuReadUnlock,
  requestThreadedIrq,
  SpinLock,
  synchronizeRcu,
  TimerList,
  WaitQueueHead,
  WQ_UNBOUND,
} from '../../src/kernel/index.ts';
import type { Kernel } from '../../src/kernel/index.ts';
import { checkDeterminism, runHashed } from './kernel-test-helpers.ts';

/** A bit of everything the kernel layer offers, with real contention. */
function mixed(k: Kernel): void {
  const m = new Mutex(k, 'big');
  const s = new SpinLock(k, 'irq-lock');
  const wq = allocWorkqueue(k, 'u', WQ_UNBOUND, 2);
  const wait = new WaitQueueHead(k, 'events');
  const done = new Completion(k, 'done');
  let counter = 0;
  requestThreadedIrq(k, 3, () => {
    s.lock();
    counter++;
    s.unlock();
    return IRQ_WAKE_THREAD;
  }, async () => {
    await m.lock();
    counter++;
    m.unlock();
    wait.wakeUp();
    return IRQ_HANDLED;
  }, 'dev');
  const iw = initIrqWork(k, () => {
    wait.wakeUp();
  });
  const tl = new TimerList(k, () => {
    raiseIrq(k, 3);
  }, 'tl');
  const hr = new HrTimer(k, () => {
    irqWorkQueue(iw);
    return 'norestart';
  }, 'hard', 'hr');
  for (let i = 0; i < 4; i++) {
    k.kthreadRun(`client${i}`, async () => {
      for (let j = 0; j < 3; j++) {
        await m.lock();
        const b = kmalloc(k, 64, GFP_KERNEL);
        counter++;
        m.unlock();
        kfree(k, b);
        queueWork(wq, initWork(k, async () => {
          rcuReadLock(k);
          rcuReadUnlock(k);
          await msleep(k, 1);
        }, `w${i}.${j}`));
        await k.schedulePoint('yield');
      }
    });
  }
  k.kthreadRun('driver', async () => {
    tl.modTimer(k.jiffies + 2);
    hr.start(1_500_000);
    queueDelayedWork(wq, initDelayedWork(k, () => {
      done.complete();
    }, 'dw'), 3);
    await wait.waitEventTimeout(() => counter > 10, 50);
    callRcu(k, new RcuHead('h'), () => {});
    await synchronizeRcu(k);
    await done.waitForCompletion();
    await flushWorkqueue(wq);
  });
}

describe('determinism', () => {
  it('the same seed gives an identical event stream over a mixed workload; a replay reproduces it', async () => {
    const d = await checkDeterminism(mixed, { seed: 7, faults: { alloc: 0.2 } });
    expect(d.result.end).toBe('completed');
    expect(d.result.failure).toBeNull();
    expect(d.again).toBe(d.hash);
    expect(d.replayHash).toBe(d.hash);
    const kinds = new Set(d.result.schedule.decisions.map((x) => x.kind));
    expect(kinds.has('thread')).toBe(true);
    expect(kinds.has('alloc')).toBe(true);
  });

  it('different seeds give different schedules and streams', async () => {
    const hashes = new Set<string>();
    const schedules = new Set<string>();
    for (const seed of [1, 2, 3, 4, 5]) {
      const { result, hash } = await runHashed(mixed, { seed });
      expect(result.end).toBe('completed');
      hashes.add(hash);
      schedules.add(JSON.stringify(result.schedule.decisions));
    }
    expect(hashes.size).toBe(5);
    expect(schedules.size).toBe(5);
  });

  it('a replay of every seed reproduces its stream', async () => {
    for (const seed of [11, 12, 13]) {
      const d = await checkDeterminism(mixed, { seed });
      expect(d.replayHash).toBe(d.hash);
    }
  });
});
