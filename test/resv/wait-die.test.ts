import { describe, expect, it } from 'vitest';
import { Completion, condResched, Errno, WwAcquireCtx } from '../../src/kernel/index.ts';
import type { Kernel } from '../../src/kernel/index.ts';
import { DmaResv, DmaResvUsage, reservationWwClass } from '../../src/resv/index.ts';
import type { DmaFence } from '../../src/fence/index.ts';
import { checkedKernel, determinism, mkFence, rules } from './helpers.ts';

/**
 * The documented back-off pattern for a fixed list: lock in order; on
 * -EDEADLK unlock everything, lock the contended one with the slow path and
 * start over, skipping it (-EALREADY).
 */
async function lockAll(
  resvs: readonly DmaResv[],
  ctx: WwAcquireCtx,
  stats: { backoffs: number },
): Promise<void> {
  let contended: DmaResv | null = null;
  for (;;) {
    const held: DmaResv[] = contended ? [contended] : [];
    let retry = false;
    for (const r of resvs) {
      const ret = await r.lock(ctx);
      if (ret === -Errno.EALREADY) continue;
      if (ret === -Errno.EDEADLK) {
        stats.backoffs++;
        for (const h of held) h.unlock();
        contended = r;
        await r.lockSlow(ctx);
        retry = true;
        break;
      }
      expect(ret).toBe(0);
      held.push(r);
    }
    if (!retry) return;
  }
}

/** Threads each lock their own permutation of shared resvs, add a fence to each, unlock. */
function workload(
  k: Kernel,
  nThreads: number,
  nResv: number,
  stats: { backoffs: number; fences: DmaFence[] },
  resvs: DmaResv[],
): void {
  for (let i = 0; i < nResv; i++) resvs.push(new DmaResv(k, `bo${i}`));
  let running = nThreads;
  const allDone = new Completion(k, 'all submitted');
  k.kthreadRun('reaper', async () => {
    await allDone.waitForCompletion();
    for (const r of resvs) r.fini();
    for (const f of stats.fences) f.put();
  });
  for (let t = 0; t < nThreads; t++) {
    k.kthreadRun(`submit${t}`, async () => {
      // Thread t locks a rotated, sometimes reversed, order: plenty of inversions.
      const order = resvs.map((_, i) => resvs[(i + t) % nResv]!);
      if (t % 2) order.reverse();
      for (let round = 0; round < 2; round++) {
        const ctx = new WwAcquireCtx(k, reservationWwClass);
        await lockAll(order, ctx, stats);
        ctx.done();
        const fence = mkFence(k);
        stats.fences.push(fence);
        for (const r of order) {
          expect(r.reserveFences(1)).toBe(0);
          r.addFence(fence, DmaResvUsage.WRITE);
          // Let others run while we hold everything.
          await condResched(k);
        }
        for (const r of order) r.unlock();
        ctx.fini();
        fence.signal();
      }
      if (--running === 0) allDone.complete();
    });
  }
}

describe('wait-die locking of several resvs by several threads', () => {
  it('every thread completes, with back-offs, no deadlock and no lockdep report, on many seeds', async () => {
    let totalBackoffs = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const k = checkedKernel({ seed });
      const stats = { backoffs: 0, fences: [] as DmaFence[] };
      const resvs: DmaResv[] = [];
      workload(k, 4, 4, stats, resvs);
      const r = await k.run();
      expect(r.failure).toBeNull();
      expect(r.end).toBe('completed');
      expect(rules(r)).toEqual([]);
      expect([...r.exits.values()].every((c) => c === 0)).toBe(true);
      expect(stats.fences).toHaveLength(8);
      for (const resv of resvs) expect(resv.isLocked()).toBe(false);
      totalBackoffs += stats.backoffs;
    }
    expect(totalBackoffs).toBeGreaterThan(0);
  });

  it('ctx rules: -EALREADY on relock, a NULL ctx never fails, trylock, locking_ctx', async () => {
    const k = checkedKernel();
    k.kthreadRun('t', async () => {
      const a = new DmaResv(k);
      const ctx = new WwAcquireCtx(k, reservationWwClass);
      expect(await a.lock(ctx)).toBe(0);
      expect(a.lockingCtx()).toBe(ctx);
      expect(await a.lock(ctx)).toBe(-Errno.EALREADY);
      expect(a.trylock()).toBe(false);
      a.unlock();
      ctx.fini();
      expect(await a.lock(null)).toBe(0);
      expect(a.lockingCtx()).toBeNull();
      expect(a.held()).toBe(true);
      a.unlock();
      expect(a.trylock()).toBe(true);
      a.unlock();
      a.fini();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(rules(r)).toEqual([]);
  });

  it('an interruptible lock gives -EINTR on a signal', async () => {
    const k = checkedKernel();
    const a = new DmaResv(k);
    let got = 0;
    const locked = new Completion(k, 'locked');
    const release = new Completion(k, 'release');
    k.kthreadRun('holder', async () => {
      await a.lock(null);
      locked.completeAll();
      await release.waitForCompletion();
      a.unlock();
    });
    const waiter = k.kthreadRun('waiter', async () => {
      await locked.waitForCompletion();
      got = await a.lockInterruptible(null);
      if (got === 0) a.unlock();
      release.complete();
    });
    k.kthreadRun('signaller', async () => {
      await locked.waitForCompletion();
      for (let i = 0; i < 3; i++) await condResched(k);
      k.sendSignal(waiter);
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(r.end).toBe('completed');
    expect(got).toBe(-Errno.EINTR);
  });

  it('a multi-thread resv workload replays byte for byte', async () => {
    const d = await determinism(
      (k) => {
        workload(k, 3, 3, { backoffs: 0, fences: [] }, []);
      },
      { seed: 7 },
    );
    expect(d.result.end).toBe('completed');
    expect(d.events).toBeGreaterThan(100);
    expect(d.b).toBe(d.a);
    expect(d.replay).toBe(d.a);
  });
});
