import type { Kernel } from '../kernel/index.ts';
import { LdWait, LockdepMap } from '../kernel/index.ts';

const maps = new WeakMap<Kernel, LockdepMap>();

/**
 * The `dma_fence_map` pseudo-lock of kernel `k`. One global class
 * (`dma_fence_map`): signalling sections hold it as a non-recursive reader,
 * every fence wait takes it exclusively.
 *
 * @kernel dma_fence_lockdep_map (drivers/dma-buf/dma-fence.c)
 */
export function dmaFenceMapOf(k: Kernel): LockdepMap {
  let m = maps.get(k);
  if (!m) {
    m = new LockdepMap('dma_fence_map', 'dma_fence_map', LdWait.INV);
    maps.set(k, m);
  }
  return m;
}

/**
 * `dma_fence_begin_signalling`: open a fence signalling critical section.
 * Returns the cookie for `dmaFenceEndSignalling`: true when nothing was
 * acquired (already inside a section, or in atomic context where might_sleep
 * checks apply instead), false when `dma_fence_map` was taken as a reader.
 * The acquisition is a read *trylock*, as in the kernel: locks held when a
 * section starts get no edge to the map, locks taken inside get one from it.
 * Callable from any context.
 *
 * @kernel dma_fence_begin_signalling
 */
export function dmaFenceBeginSignalling(k: Kernel): boolean {
  const t = k.currentOrNull;
  if (!t) return true;
  const map = dmaFenceMapOf(k);
  if (k.lockIsHeld(map, 1, t)) return true;
  if (t.preemptCount > 0 || t.context !== 'process') return true;
  // A successful non-recursive read trylock: entering a section cannot
  // block, so it records no edge from the locks already held.
  k.lockAcquire(map, 0, true, 1, true, null, t);
  return false;
}

/** `dma_fence_end_signalling`: close the section opened with `cookie`. @kernel dma_fence_end_signalling */
export function dmaFenceEndSignalling(k: Kernel, cookie: boolean): void {
  if (cookie) return;
  k.lockRelease(dmaFenceMapOf(k));
}

/**
 * `__dma_fence_might_wait`: annotate a (possible) fence wait, before looking
 * at the fence: drop a reader hold of `dma_fence_map` if the thread is in a
 * signalling section, take and release the map exclusively, restore the
 * reader hold. Records "every held lock → dma_fence_map".
 *
 * @kernel __dma_fence_might_wait
 */
export function dmaFenceMightWait(k: Kernel): void {
  const t = k.currentOrNull;
  if (!t) return;
  const map = dmaFenceMapOf(k);
  const wasReader = k.lockIsHeld(map, 1, t);
  if (wasReader) k.lockRelease(map, t);
  k.lockAcquire(map, 0, false, 0, true, null, t);
  k.lockRelease(map, t);
  if (wasReader) k.lockAcquire(map, 0, true, 1, true, null, t);
}
