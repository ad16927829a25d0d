import { describe, expect, it } from 'vitest';
import { createCheckedKernel } from '../../src/check/index.ts';
import { Engine, GpuDevice, RuntimePm, seqno32Completed } from '../../src/hw/index.ts';
import type { Chooser } from '../../src/kernel/index.ts';
import { msleep } from '../../src/kernel/index.ts';
import { rules, runTest } from './helpers.ts';

describe('engine: 32-bit hardware seqno', () => {
  it('completion is modular: after a wrap 0 is later than 0xffffffff; only the low 32 bits count', () => {
    expect(seqno32Completed(0xffffffff, 0)).toBe(true);
    expect(seqno32Completed(0, 0xffffffff)).toBe(false);
    expect(seqno32Completed(5, 5)).toBe(true);
    // 2^31 apart: neither is later, so the fence counts as passed (not "later than" the hardware).
    expect(seqno32Completed(0x80000000, 0)).toBe(true);
    // Only the low 32 bits count.
    expect(seqno32Completed(0x1_0000_0005, 5)).toBe(true);
  });

  it('a timeline started at -127 wraps after 127 jobs and every fence signals in order', async () => {
    const { r } = await runTest(async (k) => {
      const gpu = new GpuDevice(k, { name: 'gpu', irq: 20, initialSeqno: -127, ringSize: 8 });
      expect(gpu.engine.hwSeqno).toBe(0xffffff80);
      const e = gpu.createEntity();
      const fences = [];
      for (let i = 0; i < 200; i++) {
        const j = gpu.jobCreate(e, 1000);
        if (typeof j === 'number') throw new Error(String(j));
        fences.push(await gpu.submit(j));
      }
      for (const f of fences) await f.wait(false);
      expect(gpu.signalOrder[0]).toBe(0xffffff81);
      expect(gpu.signalOrder[127]).toBe(0);
      expect(gpu.signalOrder.length).toBe(200);
      for (const f of fences) f.put();
      await e.destroy();
      await gpu.fini();
    });
    expect(rules(r.splats)).toEqual([]);
  });

  it('the plain 64-bit compare (the rejected SEQNO64 removal) signals fences early across the wrap', async () => {
    const { r } = await runTest(
      async (k) => {
        const gpu = new GpuDevice(k, { name: 'gpu', irq: 20, initialSeqno: -2, ringSize: 8, seqnoCompare: 'u64' });
        const e = gpu.createEntity();
        const fences = [];
        for (let i = 0; i < 6; i++) {
          const j = gpu.jobCreate(e, 1000);
          if (typeof j === 'number') throw new Error(String(j));
          fences.push(await gpu.submit(j));
        }
        await msleep(k, 20);
        for (const f of fences) f.put();
        await e.fini();
      },
      { lockdep: false },
    );
    expect(rules(r.splats)).toContain('fence.signalled_early');
  });
});

describe('engine: hangs, resets, power', () => {
  it('a hang injected through the chooser is recovered by the timeout handler (-ETIMEDOUT), later jobs complete', async () => {
    let n = 0;
    const chooser: Chooser = { choose: () => 0, inject: (kind, site) => kind === 'device' && site === 'gpu:hang' && ++n === 2 };
    const k = createCheckedKernel({ chooser });
    const errors: number[] = [];
    k.kthreadRun('t', async () => {
      const gpu = new GpuDevice(k, { name: 'gpu', irq: 20, timeoutMs: 50 });
      const e = gpu.createEntity();
      const fences = [];
      for (let i = 0; i < 4; i++) {
        const j = gpu.jobCreate(e, 1_000_000);
        if (typeof j === 'number') throw new Error(String(j));
        fences.push(await gpu.submit(j));
      }
      for (const f of fences) {
        await f.wait(false);
        errors.push(f.error);
        f.put();
      }
      expect(gpu.engine.resets).toBe(1);
      await e.destroy();
      await gpu.fini();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(errors).toEqual([0, -110, 0, 0]);
    expect(rules(r.splats)).toEqual([]);
  });

  it('writing the ring of a runtime-suspended device is reported', async () => {
    const { r } = await runTest(
      async (k) => {
        const engine = new Engine(k, { name: 'npu', irq: 21 });
        engine.powered = false;
        expect(engine.submit({ seqno: 1, durationNs: 10 })).toBe(-5);
      },
      { lockdep: false },
    );
    expect(rules(r.splats)).toEqual(['hw.access_while_suspended']);
  });

  it('runtime PM: usage count, autosuspend after the delay, resume in the caller\'s context, underflow WARN', async () => {
    const { r } = await runTest(
      async (k) => {
        const log: string[] = [];
        const pm = new RuntimePm(k, 'dev', {
          resume: () => {
            log.push(`resume:${k.current.name}`);
            return 0;
          },
          suspend: () => {
            log.push('suspend');
            return 0;
          },
        }, { autosuspendDelayMs: 50 });
        expect(await pm.resumeAndGet()).toBe(0);
        expect(await pm.getSync()).toBe(1); // already active
        expect(pm.usageCount).toBe(2);
        pm.putAutosuspend();
        pm.putAutosuspend();
        await msleep(k, 20);
        expect(pm.status).toBe('active');
        await msleep(k, 40);
        expect(pm.status).toBe('suspended');
        pm.putAutosuspend();
        expect(log).toEqual(['resume:test', 'suspend']);
      },
      { lockdep: false },
    );
    expect(rules(r.splats)).toEqual(['pm.usage_count_underflow']);
  });
});

describe('engine: injected spontaneous reset', () => {
  it('the dropped command\'s fence completes with -EIO; the rest of the ring runs', async () => {
    let n = 0;
    const chooser: Chooser = { choose: () => 0, inject: (kind, site) => kind === 'device' && site === 'gpu:reset' && ++n === 3 };
    const k = createCheckedKernel({ chooser });
    const errors: number[] = [];
    k.kthreadRun('t', async () => {
      const gpu = new GpuDevice(k, { name: 'gpu', irq: 20 });
      const e = gpu.createEntity();
      const fences = [];
      for (let i = 0; i < 4; i++) {
        const j = gpu.jobCreate(e, 1_000_000);
        if (typeof j === 'number') throw new Error(String(j));
        fences.push(await gpu.submit(j));
      }
      for (const f of fences) {
        await f.wait(false);
        errors.push(f.error);
        f.put();
      }
      await e.destroy();
      await gpu.fini();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(errors).toEqual([0, 0, -5, 0]);
    expect(rules(r.splats)).toEqual([]);
  });
});
