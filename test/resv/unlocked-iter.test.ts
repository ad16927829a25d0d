import { describe, expect, it } from 'vitest';
import { Completion, condResched } from '../../src/kernel/index.ts';
import { DmaResv, DmaResvIter, DmaResvUsage } from '../../src/resv/index.ts';
import type { DmaFence } from '../../src/fence/index.ts';
import { checkedKernel, mkFence, rules } from './helpers.ts';

const { READ, BOOKKEEP } = DmaResvUsage;

describe('unlocked dma_resv iteration', () => {
  it('restarts from index 0 with is_restarted when a new table is published between two steps', async () => {
    const k = checkedKernel();
    const resv = new DmaResv(k);
    const seen: { fence: DmaFence; restarted: boolean }[] = [];
    let restarts = -1;
    const filled = new Completion(k, 'filled');
    const started = new Completion(k, 'started');
    const changed = new Completion(k, 'changed');
    const fs: DmaFence[] = [];
    k.kthreadRun('reader', async () => {
      await filled.waitForCompletion();
      const c = new DmaResvIter(resv, BOOKKEEP);
      let f = c.firstUnlocked();
      while (f) {
        seen.push({ fence: f, restarted: c.isRestarted });
        if (seen.length === 1) {
          started.complete();
          await changed.waitForCompletion();
        } else {
          await condResched(k);
        }
        f = c.nextUnlocked();
      }
      c.end();
      restarts = c.restarts;
      for (const g of fs) {
        g.signal();
        g.put();
      }
      resv.fini();
    });
    k.kthreadRun('writer', async () => {
      await resv.lock(null);
      resv.reserveFences(2);
      fs.push(mkFence(k), mkFence(k));
      resv.addFence(fs[0]!, READ);
      resv.addFence(fs[1]!, READ);
      resv.unlock();
      filled.complete();
      await started.waitForCompletion();
      // Fill the table so the reservation must publish a new one.
      await resv.lock(null);
      const room = resv.fences!.maxFences - resv.fences!.numFences;
      resv.reserveFences(room + 1);
      fs.push(mkFence(k));
      resv.addFence(fs[2]!, READ);
      resv.unlock();
      changed.complete();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(rules(r)).toEqual([]);
    expect(restarts).toBe(1);
    expect(seen.map((s) => [fs.indexOf(s.fence), s.restarted])).toEqual([
      [0, true],
      [0, true],
      [1, false],
      [2, false],
    ]);
  });

  it('in-place changes do not restart: a replaced entry ahead of the cursor is seen', async () => {
    const k = checkedKernel();
    const resv = new DmaResv(k);
    const order: number[] = [];
    const fs: DmaFence[] = [];
    const go = new Completion(k, 'go');
    const done = new Completion(k, 'done');
    k.kthreadRun('main', async () => {
      await resv.lock(null);
      resv.reserveFences(4);
      for (let i = 0; i < 3; i++) fs.push(mkFence(k));
      for (const f of fs) resv.addFence(f, READ);
      resv.unlock();
      const c = new DmaResvIter(resv, BOOKKEEP);
      let f = c.firstUnlocked();
      go.complete();
      await done.waitForCompletion();
      while (f) {
        order.push(fs.indexOf(f));
        f = c.nextUnlocked();
      }
      expect(c.restarts).toBe(0);
      c.end();
      for (const g of fs) {
        g.signal();
        g.put();
      }
      resv.fini();
    });
    k.kthreadRun('writer', async () => {
      await go.waitForCompletion();
      await resv.lock(null);
      fs[2]!.signal();
      fs.push(mkFence(k));
      // Reuses the signalled slot 2: no reservation, no new table. (Appending
      // needs a reservation, and after the debug reset at unlock a full table
      // is always replaced, which restarts readers.)
      resv.addFence(fs[3]!, READ);
      resv.unlock();
      done.complete();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(rules(r)).toEqual([]);
    expect(order).toEqual([0, 1, 3]);
  });

  it('dma_resv_wait_timeout follows a restart and waits for the fence added meanwhile', async () => {
    const k = checkedKernel();
    const resv = new DmaResv(k);
    let result = 0;
    let doneAt = -1;
    const fs: DmaFence[] = [];
    k.kthreadRun('waiter', async () => {
      await resv.lock(null);
      resv.reserveFences(1);
      fs.push(mkFence(k));
      resv.addFence(fs[0]!, READ);
      resv.unlock();
      result = await resv.waitTimeout(READ, false, Number.POSITIVE_INFINITY);
      doneAt = fs.filter((f) => f.signalled).length;
    });
    k.kthreadRun('writer', async () => {
      while (fs.length === 0) await condResched(k);
      await resv.lock(null);
      resv.reserveFences(resv.fences!.maxFences);
      fs.push(mkFence(k));
      resv.addFence(fs[1]!, READ);
      resv.unlock();
      fs[0]!.signal();
      for (let i = 0; i < 5; i++) await condResched(k);
      fs[1]!.signal();
      while (doneAt < 0) await condResched(k);
      for (const f of fs) f.put();
      resv.fini();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(result).toBe(Number.POSITIVE_INFINITY);
    expect(doneAt).toBe(2);
    expect(rules(r)).toEqual([]);
  });
});
