import { describe, expect, it } from 'vitest';
import { Kernel, SpinLock } from '../../src/kernel/index.ts';
import {
  DmaFence,
  dmaFenceInit64,
  dmaFenceIsLater,
  dmaFenceIsLaterOrSame,
  dmaFenceLater,
  seqnoIsLater,
} from '../../src/fence/index.ts';
import { inThread, mockOps, rules } from './helpers.ts';

describe('seqno comparison', () => {
  it('32-bit rule: low 32 bits, signed difference (wraps)', () => {
    expect(seqnoIsLater(false, 1, 0xffffffff)).toBe(true);
    expect(seqnoIsLater(false, 0, 0xffffffff)).toBe(true);
    expect(seqnoIsLater(false, 0xffffffff, 0)).toBe(false);
    expect(seqnoIsLater(false, 5, 5)).toBe(false);
    // 2^31 apart: neither is later (INT_MIN difference).
    expect(seqnoIsLater(false, 0x80000000, 0)).toBe(false);
    expect(seqnoIsLater(false, 0, 0x80000000)).toBe(false);
    // 2^31 - 1 apart: later; the window inverts past it.
    expect(seqnoIsLater(false, 0x7fffffff, 0)).toBe(true);
    expect(seqnoIsLater(false, 0x80000001, 0)).toBe(false);
    // Upper bits are ignored.
    expect(seqnoIsLater(false, 2 ** 40 + 1, 2)).toBe(false);
    expect(seqnoIsLater(false, 3, 2 ** 40 + 2)).toBe(true);
  });

  it('64-bit rule: plain greater-than', () => {
    expect(seqnoIsLater(true, 0, 0xffffffff)).toBe(false);
    expect(seqnoIsLater(true, 0xffffffff, 0)).toBe(true);
    expect(seqnoIsLater(true, 2 ** 40 + 1, 2)).toBe(true);
  });

  it('is_later uses f1 flag; a timeline started at -127 stays ordered across the wrap', () => {
    const k = new Kernel();
    const lock = new SpinLock(k, 'l');
    const start = -127 >>> 0;
    const fences = Array.from(
      { length: 300 },
      (_, i) => new DmaFence(k, mockOps, lock, 1, (start + i) >>> 0),
    );
    for (let i = 1; i < fences.length; i++) {
      expect(dmaFenceIsLater(fences[i]!, fences[i - 1]!)).toBe(true);
      expect(dmaFenceIsLater(fences[i - 1]!, fences[i]!)).toBe(false);
      expect(dmaFenceIsLater(fences[i]!, fences[0]!)).toBe(true);
    }
    expect(fences[127]!.seqno).toBe(0);
    const wide0 = dmaFenceInit64(k, mockOps, lock, 1, 0);
    const wideMax = dmaFenceInit64(k, mockOps, lock, 1, 0xffffffff);
    expect(dmaFenceIsLater(wide0, wideMax)).toBe(false);
    expect(dmaFenceIsLater(fences[127]!, wideMax)).toBe(true);
  });

  it('is_later_or_same: the same object or later', () => {
    const k = new Kernel();
    const lock = new SpinLock(k, 'l');
    const a = new DmaFence(k, mockOps, lock, 1, 5);
    const b = new DmaFence(k, mockOps, lock, 1, 5);
    expect(dmaFenceIsLaterOrSame(a, a)).toBe(true);
    expect(dmaFenceIsLaterOrSame(a, b)).toBe(false);
  });

  it('comparing contexts warns: is_later false, later null', async () => {
    const { value, result } = await inThread((k) => {
      const lock = new SpinLock(k, 'l');
      const a = new DmaFence(k, mockOps, lock, 1, 5);
      const b = new DmaFence(k, mockOps, lock, 2, 1);
      return [dmaFenceIsLater(a, b), dmaFenceLater(a, b)];
    });
    expect(value).toEqual([false, null]);
    expect(rules(result)).toEqual(['fence.cross_context_compare', 'fence.cross_context_compare']);
  });

  it('later: the later fence, or null when that one is signalled', async () => {
    const { value } = await inThread((k) => {
      const lock = new SpinLock(k, 'l');
      const a = new DmaFence(k, mockOps, lock, 1, 1);
      const b = new DmaFence(k, mockOps, lock, 1, 2);
      const r1 = dmaFenceLater(a, b) === b && dmaFenceLater(b, a) === b;
      a.signal();
      const r2 = dmaFenceLater(a, b) === b;
      b.signal();
      return [r1, r2, dmaFenceLater(a, b)];
    });
    expect(value).toEqual([true, true, null]);
  });
});
