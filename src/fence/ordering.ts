import { U32_MAX, wholeArg } from '../kernel/index.ts';
import type { Kernel } from '../kernel/index.ts';
import type { DmaFence } from './forward.ts';
import { SEQNO64, seqnoIsLater } from './flags.ts';
import { fenceSplat } from './rules.ts';
import { fenceState } from './state.ts';

/**
 * `dma_fence_context_alloc(num)`: reserve `num` consecutive contexts of
 * kernel `k` and return the first. The counter starts at 1, so context 0 is
 * never handed out. `num == 0` WARNs and returns the current value.
 *
 * @kernel dma_fence_context_alloc
 */
export function dmaFenceContextAlloc(k: Kernel, num: number): number {
  wholeArg('dmaFenceContextAlloc(k, num)', 'num', num, '(unsigned int)', U32_MAX);
  const s = fenceState(k);
  if (!num) fenceSplat(k, 'fence.invalid_argument', 'WARNING: dma_fence_context_alloc(0)', '');
  const first = s.nextContext;
  s.nextContext += num;
  return first;
}

function warnCrossContext(f1: DmaFence, f2: DmaFence, fn: string): void {
  fenceSplat(
    f1.kernel,
    'fence.cross_context_compare',
    `WARNING: ${fn}() on fences of different contexts (${f1.context} and ${f2.context})`,
    'Seqnos are only ordered within one context.',
    { contexts: [f1.context, f2.context] },
  );
}

/**
 * `dma_fence_is_later(f1, f2)`: different contexts WARN and give false; else f1's comparison rule.
 *
 * @kernel dma_fence_is_later
 */
export function dmaFenceIsLater(f1: DmaFence, f2: DmaFence): boolean {
  if (f1.context !== f2.context) {
    warnCrossContext(f1, f2, 'dma_fence_is_later');
    return false;
  }
  return seqnoIsLater((f1.flags & SEQNO64) !== 0, f1.seqno, f2.seqno);
}

/**
 * `dma_fence_is_later_or_same`: the same object, or later.
 *
 * @kernel dma_fence_is_later_or_same
 */
export function dmaFenceIsLaterOrSame(f1: DmaFence, f2: DmaFence): boolean {
  return f1 === f2 || dmaFenceIsLater(f1, f2);
}

/**
 * `dma_fence_later(f1, f2)`: the later fence, or null if that one is
 * signalled (polling `isSignaled`); different contexts WARN and give null.
 * No reference is taken.
 *
 * @kernel dma_fence_later
 */
export function dmaFenceLater(f1: DmaFence, f2: DmaFence): DmaFence | null {
  if (f1.context !== f2.context) {
    warnCrossContext(f1, f2, 'dma_fence_later');
    return null;
  }
  if (dmaFenceIsLater(f1, f2)) return f1.isSignaled() ? null : f1;
  return f2.isSignaled() ? null : f2;
}
