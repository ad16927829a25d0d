import type { Kernel } from '../kernel/index.ts';
import { fenceAlloc } from './alloc.ts';
import { dmaFenceArrayCreate, dmaFenceArrayFirst, dmaFenceArrayNext } from './array.ts';
import { dmaFenceChainContained, dmaFenceChainWalk } from './chain.ts';
import type { DmaFence } from './fence.ts';
import { dmaFenceContextAlloc, dmaFenceIsLater } from './ordering.ts';
import { dmaFenceAllocatePrivateStub } from './stub.ts';
import { checkUnwrapMergeResult, fenceDebug } from './unwrap-check.ts';

/**
 * `struct dma_fence_unwrap`: cursor into nested containers: `chain` is the
 * (referenced) current chain element, `array` its contained fence, `index`
 * the last member returned.
 *
 * @kernel struct dma_fence_unwrap (include/linux/dma-fence-unwrap.h)
 */
export class DmaFenceUnwrap {
  chain: DmaFence | null = null;
  array: DmaFence | null = null;
  index = 0;
}

function unwrapArray(cursor: DmaFenceUnwrap): DmaFence | null {
  cursor.array = cursor.chain === null ? null : dmaFenceChainContained(cursor.chain);
  cursor.index = 0;
  return dmaFenceArrayFirst(cursor.array);
}

/**
 * `dma_fence_unwrap_first`: reference `head` into the cursor and return its first leaf.
 *
 * @kernel dma_fence_unwrap_first
 */
export function dmaFenceUnwrapFirst(head: DmaFence, cursor: DmaFenceUnwrap): DmaFence | null {
  cursor.chain = head.get();
  return unwrapArray(cursor);
}

/**
 * `dma_fence_unwrap_next`: the next member of the current array, else walk
 * the chain (collecting completed points) and start on the next element.
 * Null at the end, when the cursor holds no reference any more.
 *
 * @kernel dma_fence_unwrap_next
 */
export function dmaFenceUnwrapNext(cursor: DmaFenceUnwrap): DmaFence | null {
  ++cursor.index;
  const tmp = dmaFenceArrayNext(cursor.array, cursor.index);
  if (tmp !== null) return tmp;
  cursor.chain = cursor.chain === null ? null : dmaFenceChainWalk(cursor.chain);
  return unwrapArray(cursor);
}

/**
 * `dma_fence_unwrap_for_each`: every leaf of any nesting of chains and
 * arrays: all members of the head, then, for older chain points, only those
 * still incomplete (completed points are skipped and unlinked). Leaves are
 * not individually referenced. Unlike the kernel macro, breaking out of the
 * loop drops the cursor's reference for you.
 *
 * @kernel dma_fence_unwrap_for_each
 */
export function* dmaFenceUnwrapForEach(head: DmaFence): Generator<DmaFence> {
  const cursor = new DmaFenceUnwrap();
  try {
    for (let f = dmaFenceUnwrapFirst(head, cursor); f !== null; f = dmaFenceUnwrapNext(cursor))
      yield f;
  } finally {
    cursor.chain?.put();
    cursor.chain = null;
  }
}

/** `fence_cmp`: context ascending; within one context the later fence first. */
function fenceCmp(a: DmaFence, b: DmaFence): number {
  if (a.context < b.context) return -1;
  if (a.context > b.context) return 1;
  if (dmaFenceIsLater(b, a)) return 1;
  if (dmaFenceIsLater(a, b)) return -1;
  return 0;
}

/**
 * `dma_fence_dedup_array`: sort by context (the later fence first within a
 * context), keep one fence per context (the latest) and put the others;
 * compacts `fences` in place and returns the new count. O(n log n).
 *
 * @kernel dma_fence_dedup_array
 */
export function dmaFenceDedupArray(fences: DmaFence[], numFences: number): number {
  if (numFences === 0) return 0;
  const sorted = fences.slice(0, numFences).sort(fenceCmp);
  let j = 0;
  fences[0] = sorted[0]!;
  for (let i = 1; i < numFences; i++) {
    const f = sorted[i]!;
    if (f.context === fences[j]!.context) f.put();
    else fences[++j] = f;
  }
  fences.length = j + 1;
  return j + 1;
}

/**
 * `dma_fence_unwrap_merge(f1, f2, ...)`: unwrap every input and merge the
 * pending leaves. Does not consume the inputs' references. Returns a new
 * reference to: a signalled private stub carrying the latest signal time
 * when nothing is pending; the single pending leaf; or a flat
 * `dma_fence_array` (new context, seqno 1, wait-all) holding the latest
 * pending fence of each context in ascending context order. Null on OOM.
 * Process context (GFP_KERNEL).
 *
 * @kernel __dma_fence_unwrap_merge (drivers/dma-buf/dma-fence-unwrap.c)
 */
export function dmaFenceUnwrapMerge(k: Kernel, ...fences: DmaFence[]): DmaFence | null {
  if (!fenceDebug(k)) return unwrapMerge(k, fences, null);
  const leaves: DmaFence[] = [];
  const result = unwrapMerge(k, fences, leaves);
  checkUnwrapMergeResult(k, leaves, result);
  return result;
}

/** The merge; `leaves` (debug kernels) collects the pending leaves for the invariant check. */
function unwrapMerge(k: Kernel, fences: DmaFence[], leaves: DmaFence[] | null): DmaFence | null {
  let count = 0;
  let timestamp = 0;
  let unsignaled: DmaFence | null = null;
  for (const head of fences) {
    for (const tmp of dmaFenceUnwrapForEach(head)) {
      if (!tmp.isSignaled()) {
        unsignaled?.put();
        unsignaled = tmp.get();
        leaves?.push(tmp);
        ++count;
      } else {
        const t = tmp.timestamp();
        if (t > timestamp) timestamp = t;
      }
    }
  }
  if (count === 0) return dmaFenceAllocatePrivateStub(k, timestamp);
  if (count === 1) return unsignaled;
  unsignaled?.put();

  if (!fenceAlloc(k, count * 8, 'dma_fence_unwrap_merge')) return null;
  const array: DmaFence[] = [];
  for (const head of fences) {
    for (const tmp of dmaFenceUnwrapForEach(head)) {
      if (!tmp.isSignaled()) {
        array.push(tmp.get());
      } else {
        const t = tmp.timestamp();
        if (t > timestamp) timestamp = t;
      }
    }
  }
  count = array.length;
  if (count > 1) {
    count = dmaFenceDedupArray(array, count);
    if (count > 1) {
      const result = dmaFenceArrayCreate(k, count, array, dmaFenceContextAlloc(k, 1), 1, false);
      if (!result) {
        for (const f of array) f.put();
        return null;
      }
      return result;
    }
  }
  if (count === 0) return dmaFenceAllocatePrivateStub(k, timestamp);
  return array[0]!;
}
