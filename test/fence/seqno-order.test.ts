/**
 * Seqno order per fence context, judged by the rule book from the event
 * stream: the kernel's 32-bit order for sw_sync timelines whose points are
 * about 2^31 apart (issue 15), fences initialised behind their timeline and
 * a completed-seqno cache that goes backwards (issue 10).
 */
import { describe, expect, it } from 'vitest';
import { DmaFence, dmaFenceCompleted, dmaFenceInit64, UserProcess } from '../../src/fence/index.ts';
import type { DmaFenceOps } from '../../src/fence/index.ts';
import { Kernel, SpinLock } from '../../src/kernel/index.ts';
import { Engine } from '../../src/hw/index.ts';
import { inThread, rules } from './helpers.ts';
import { createFence, inc, status, timelineCreate, userRun } from './user-helpers.ts';

const ring: DmaFenceOps = {
  getDriverName: () => 'ring',
  getTimelineName: () => 'rcs0',
  inOrder: true,
};

describe('timeline_fence_signaled order: sw_sync points about 2^31 apart', () => {
  it('a point created 2^31 - 1 ahead of a pending one is behind the timeline, signals at creation, and is in order (as the kernel has it)', async () => {
    const { value, result } = await userRun(
      async (p: UserProcess) => {
        const tl = timelineCreate(p);
        const a = await createFence(p, tl, 1); // pending: later than the timeline's 0
        const b = await createFence(p, tl, 0x80000000); // not later than 0 by (int)(b - 0): signalled at creation
        const sb = await status(p, b);
        const sa0 = await status(p, a);
        await inc(p, tl, 1);
        const sa1 = await status(p, a);
        p.exit();
        return [sa0, sb, sa1];
      },
      { seed: 1 },
    );
    expect(value).toEqual([0, 1, 1]);
    expect(rules(result)).toEqual([]);
  });

  it('points exactly 2^31 apart, both pending in turn, signalled in timeline order: nothing reported', async () => {
    const { result } = await userRun(
      async (p: UserProcess) => {
        const tl = timelineCreate(p);
        await inc(p, tl, 10);
        const a = await createFence(p, tl, 0x7fffffff);
        await inc(p, tl, 0x7fffffff - 10);
        const b = await createFence(p, tl, 0xfffffffe);
        await inc(p, tl, 0x7fffffff);
        const s = [await status(p, a), await status(p, b)];
        p.exit();
        return s;
      },
      { seed: 1 },
    );
    expect(rules(result)).toEqual([]);
  });

  it('a real out-of-order signal on a wrapping 32-bit ring is still reported', async () => {
    const { result } = await inThread((k) => {
      const lock = new SpinLock(k, 'ring');
      const f = [0xfffffffe, 0xffffffff, 0, 1].map((s) => new DmaFence(k, ring, lock, 5, s));
      f[0]!.signal();
      f[2]!.signal(); // 0 before 0xffffffff: out of order across the wrap
      f[1]!.signal();
      f[3]!.signal();
    });
    expect(rules(result)).toEqual(['fence.context_out_of_order']);
    expect(result.splats[0]!.data).toMatchObject({ context: 5, seqno: 0, pending: [0xffffffff] });
  });

  it('64-bit contexts compare plainly: 0 after 2^32 - 1 is earlier, not a wrap', async () => {
    const { result } = await inThread((k) => {
      const lock = new SpinLock(k, 'ring');
      const hi = dmaFenceInit64(k, ring, lock, 6, 0xffffffff);
      const lo = dmaFenceInit64(k, ring, lock, 6, 0x100000000);
      lo.signal();
      hi.signal();
    });
    expect(rules(result)).toEqual(['fence.context_out_of_order']);
  });
});

describe('fence.seqno_not_after_signalled', () => {
  it('a fence initialised with a seqno not after one already signalled, left pending, is reported; born-signalled sw_sync points are not', async () => {
    const { result } = await inThread((k) => {
      const lock = new SpinLock(k, 'ring');
      const a = new DmaFence(k, ring, lock, 9, 10);
      a.signal();
      const stale = new DmaFence(k, ring, lock, 9, 7);
      const next = new DmaFence(k, ring, lock, 9, 11);
      next.signal();
      stale.signal();
    });
    expect(rules(result)).toContain('fence.seqno_not_after_signalled');
    expect(
      result.splats.find((s) => s.rule === 'fence.seqno_not_after_signalled')!.data,
    ).toMatchObject({ context: 9, seqno: 7, signalled: 10 });
    const sw = await userRun(
      async (p: UserProcess) => {
        const tl = timelineCreate(p);
        await inc(p, tl, 5);
        await createFence(p, tl, 3); // behind the timeline: signalled at creation
        p.exit();
        return 0;
      },
      { seed: 1 },
    );
    expect(rules(sw.result)).toEqual([]);
  });
});

describe('fence.completed_seqno_backwards', () => {
  it('a driver cache that moves back (32-bit rule) is reported; a wrap forward is not', async () => {
    const { result } = await inThread((k) => {
      dmaFenceCompleted(k, 3, 0xfffffff0, 'ring0');
      dmaFenceCompleted(k, 3, 5, 'ring0'); // forward across the wrap
      dmaFenceCompleted(k, 3, 2, 'ring0'); // back
    });
    expect(rules(result)).toEqual(['fence.completed_seqno_backwards']);
    expect(result.splats[0]!.data).toMatchObject({ context: 3, from: 5, to: 2 });
  });

  it('the engine reports each write of its seqno location for its fence context', async () => {
    const k = new Kernel({ seed: 1 });
    const seen: number[] = [];
    k.events.on((e) => {
      if (e.type === 'fence-completed') seen.push(e.seqno);
    });
    const engine = new Engine(k, { name: 'rcs0', irq: 5, initialSeqno: -1 });
    engine.fenceContext = 4;
    k.kthreadRun('submit', () => {
      engine.submit({ seqno: 0xffffffff, durationNs: 10 });
      engine.submit({ seqno: 0, durationNs: 10 });
    });
    const r = await k.run();
    expect(seen).toEqual([0xffffffff, 0]);
    expect(rules(r)).toEqual([]);
  });
});
