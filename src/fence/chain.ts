import { Errno, IrqWork, irqWorkQueue } from '../kernel/index.ts';
import type { Kernel, Thread } from '../kernel/index.ts';
import { fenceAlloc } from './alloc.ts';
import { DmaFenceCb } from './callback.ts';
import { DmaFence } from './fence.ts';
import type { DmaFenceOps } from './ops.ts';
import { dmaFenceContextAlloc } from './ordering.ts';
import { dmaFenceSignallers } from './signaller.ts';
import { checkU64, SEQNO64, seqnoIsLater } from './flags.ts';
import { fenceSplat } from './rules.ts';

/** The node's callback slot (the kernel's union of `cb` and `work`). */
class DmaFenceChainCb extends DmaFenceCb {
  constructor(readonly chain: DmaFenceChain) {
    super();
  }
}

/**
 * `struct dma_fence_chain`: one timeline point. `prev` is the previous point
 * (or any fence), `fence` the contained fence; the node signals once its own
 * fence and every older point have signalled, in any order. Seqnos compare
 * as 64-bit. The node's lock is its inline lock (class `dma_fence_chain.lock`).
 *
 * @kernel struct dma_fence_chain (include/linux/dma-fence-chain.h)
 */
export class DmaFenceChain extends DmaFence {
  /** `prev` (RCU pointer): the previous point, holding a reference; unlinked by `walk` once signalled. */
  prev: DmaFence | null = null;
  /** `prev_seqno`: the previous node's seqno when this node reused its context, else 0. */
  prevSeqno = 0;
  /** The contained fence (one reference). */
  fence: DmaFence | null = null;
  private cbRef: DmaFenceChainCb | null = null;
  /** @internal `work`, created when first queued. */
  work: IrqWork | null = null;

  /** @internal use `dmaFenceChainAlloc`. */
  constructor(k: Kernel) {
    super(k, dmaFenceChainOps, null, 0, 0, SEQNO64, false);
  }

  /** The node's callback slot, created on first use (nodes never armed do not pay for it). */
  get cb(): DmaFenceCb {
    return (this.cbRef ??= new DmaFenceChainCb(this));
  }
}

/**
 * `dma_fence_is_chain`: identity of the ops table.
 *
 * @kernel dma_fence_is_chain
 */
export function dmaFenceIsChain(f: DmaFence): f is DmaFenceChain {
  return f.ops === (dmaFenceChainOps as DmaFenceOps);
}

/**
 * `to_dma_fence_chain`: the node, or null for null or any other fence.
 *
 * @kernel to_dma_fence_chain
 */
export function toDmaFenceChain(f: DmaFence | null): DmaFenceChain | null {
  return f !== null && dmaFenceIsChain(f) ? f : null;
}

/**
 * `dma_fence_chain_contained`: a node's contained fence, or the fence itself.
 *
 * @kernel dma_fence_chain_contained
 */
export function dmaFenceChainContained(f: DmaFence): DmaFence {
  return dmaFenceIsChain(f) ? f.fence! : f;
}

/**
 * `dma_fence_chain_get_prev`: a new reference to `chain.prev`, or null. A
 * link to an already released fence (impossible without a refcount bug) is
 * reported as a use after free.
 */
function getPrev(chain: DmaFenceChain): DmaFence | null {
  const prev = chain.prev;
  if (prev === null) return null;
  if (prev.getRcu() === null) {
    prev.refcount.useAfterFree('dma_fence_chain_get_prev');
    return null;
  }
  return prev;
}

/**
 * `dma_fence_chain_walk`: consumes the caller's reference to `fence` and
 * returns a reference to the next older element that is not yet complete
 * (or null), unlinking completed points from `fence` on the way so they can
 * be freed. A non-chain fence ends the walk. `fence` itself is not tested.
 *
 * @kernel dma_fence_chain_walk
 */
export function dmaFenceChainWalk(fence: DmaFence): DmaFence | null {
  const chain = toDmaFenceChain(fence);
  if (!chain) {
    fence.put();
    return null;
  }
  let prev: DmaFence | null;
  while ((prev = getPrev(chain)) !== null) {
    const prevChain = toDmaFenceChain(prev);
    let replacement: DmaFence | null;
    if (prevChain) {
      if (!prevChain.fence!.isSignaled()) break;
      replacement = getPrev(prevChain);
    } else {
      if (!prev.isSignaled()) break;
      replacement = null;
    }
    // cmpxchg(&chain->prev, prev, replacement)
    if (chain.prev === prev) {
      chain.prev = replacement;
      prev.put();
    } else {
      replacement?.put();
    }
    prev.put();
  }
  fence.put();
  return prev;
}

/**
 * `dma_fence_chain_for_each`: the head (always), then every older element
 * `walk` returns. Each yielded element is referenced; the reference moves on
 * with the iteration, so a caller that breaks out owns the current element's
 * reference and must put it (as with the kernel macro).
 *
 * @kernel dma_fence_chain_for_each
 */
export function* dmaFenceChainForEach(head: DmaFence): Generator<DmaFence> {
  for (let iter: DmaFence | null = head.get(); iter !== null; iter = dmaFenceChainWalk(iter))
    yield iter;
}

/**
 * In/out fence pointer for `dmaFenceChainFindSeqno`.
 *
 * @kernel the `struct dma_fence **pfence` parameter of dma_fence_chain_find_seqno
 */
export interface FencePtr {
  fence: DmaFence | null;
}

/**
 * `dma_fence_chain_find_seqno(pfence, seqno)`: 0 and `pfence` untouched for
 * seqno 0; -EINVAL (untouched) if `pfence.fence` is not a chain node or its
 * seqno is below `seqno` (a future point). Else 0 with `pfence.fence`
 * replaced (the caller's reference dropped) by a reference to the oldest
 * incomplete point covering `seqno`, or null if that point already
 * completed and was collected.
 *
 * @kernel dma_fence_chain_find_seqno
 */
export function dmaFenceChainFindSeqno(pfence: FencePtr, seqno: number): number {
  checkU64('dmaFenceChainFindSeqno(pfence, seqno): seqno', seqno);
  if (!seqno) return 0;
  const chain = toDmaFenceChain(pfence.fence);
  if (!chain || chain.seqno < seqno) return -Errno.EINVAL;
  let iter: DmaFence | null = chain.get();
  while (iter !== null) {
    if (iter.context !== chain.context || toDmaFenceChain(iter)!.prevSeqno < seqno) break;
    iter = dmaFenceChainWalk(iter);
  }
  pfence.fence = iter;
  chain.put();
  return 0;
}

/** The node's irq_work (the other half of the kernel's cb/work union). */
class DmaFenceChainWork extends IrqWork {
  constructor(readonly chain: DmaFenceChain) {
    super(chain.kernel, chainWorkFunc, 'dma_fence_chain');
  }
}

/** `dma_fence_chain_irq_work`: re-arm on the next incomplete fence, or signal; drop the head reference. */
function chainWorkFunc(w: IrqWork): void {
  if (!(w instanceof DmaFenceChainWork)) return;
  const chain = w.chain;
  if (!chainEnableSignaling(chain)) chain.signal();
  chain.put();
}

/** `dma_fence_chain_cb`: defer to irq_work (no lock recursion) and drop the contained-fence reference. */
function chainCb(f: DmaFence, cb: DmaFenceCb): void {
  if (!(cb instanceof DmaFenceChainCb)) return;
  const chain = cb.chain;
  irqWorkQueue((chain.work ??= new DmaFenceChainWork(chain)));
  f.put();
}

/**
 * `dma_fence_chain_enable_signaling`: walk from the head and arm the head's
 * callback on the first contained fence that is still pending (keeping a
 * head reference and a reference to that fence); false when everything has
 * completed.
 */
function chainEnableSignaling(head: DmaFenceChain): boolean {
  head.get();
  for (let iter: DmaFence | null = head.get(); iter !== null; iter = dmaFenceChainWalk(iter)) {
    const f = dmaFenceChainContained(iter).get();
    if (f.addCallback(head.cb, chainCb) === 0) {
      iter.put();
      return true;
    }
    f.put();
  }
  head.put();
  return false;
}

/**
 * `dma_fence_chain_ops`: driver "dma_fence_chain", timeline "unbound".
 *
 * @kernel dma_fence_chain_ops (drivers/dma-buf/dma-fence-chain.c)
 */
export const dmaFenceChainOps: DmaFenceOps<DmaFenceChain> = {
  getDriverName: () => 'dma_fence_chain',
  getTimelineName: () => 'unbound',
  lockClass: 'dma_fence_chain.lock',
  enableSignaling: chainEnableSignaling,

  /** Signalled iff every contained fence from this node back is signalled. */
  signaled(node) {
    for (let iter: DmaFence | null = node.get(); iter !== null; iter = dmaFenceChainWalk(iter)) {
      if (!dmaFenceChainContained(iter).isSignaled()) {
        iter.put();
        return false;
      }
    }
    return true;
  },

  /**
   * Unlink older nodes iteratively while this node holds the last reference
   * to them (no recursion, so a million-link chain cannot overflow the
   * stack), then put what is left, and the contained fence.
   */
  release(chain) {
    let prev: DmaFence | null;
    while ((prev = chain.prev) !== null) {
      if (prev.refcount.refcount > 1) break;
      const prevChain = toDmaFenceChain(prev);
      if (!prevChain) break;
      chain.prev = prevChain.prev;
      prevChain.prev = null;
      prev.put();
    }
    prev?.put();
    chain.prev = null;
    chain.fence?.put();
  },

  setDeadline(node, deadlineNs) {
    for (let iter: DmaFence | null = node.get(); iter !== null; iter = dmaFenceChainWalk(iter)) {
      dmaFenceChainContained(iter).setDeadline(deadlineNs);
    }
  },

  /** Signallers of the pending contained fences, following `prev` links without side effects (bounded). */
  signallers(node) {
    const out: Thread[] = [];
    let f: DmaFence | null = node;
    for (let n = 0; f !== null && n < 256; n++) {
      const c = toDmaFenceChain(f);
      const leaf = c ? c.fence : f;
      if (leaf !== null && !leaf.signalled)
        for (const t of dmaFenceSignallers(leaf)) if (!out.includes(t)) out.push(t);
      f = c ? c.prev : null;
    }
    return out;
  },
};

/**
 * `dma_fence_chain_alloc`: an uninitialised node, null on OOM. Process context (GFP_KERNEL).
 *
 * @kernel dma_fence_chain_alloc
 */
export function dmaFenceChainAlloc(k: Kernel): DmaFenceChain | null {
  if (!fenceAlloc(k, 128, 'dma_fence_chain_alloc')) return null;
  return new DmaFenceChain(k);
}

/**
 * `dma_fence_chain_free`: discard a node that was never initialised (after
 * init, use `put`). Its reference is dropped without a release, as `kfree` does.
 *
 * @kernel dma_fence_chain_free
 */
export function dmaFenceChainFree(chain: DmaFenceChain): void {
  chain.prev = null;
  chain.fence = null;
  chain.refcount.put();
}

/**
 * `dma_fence_chain_init(chain, prev, fence, seqno)`: takes over the
 * references to `prev` and `fence`. If `prev` is a chain node and `seqno` is
 * later (64-bit), the node joins prev's context with `prevSeqno =
 * prev.seqno`; otherwise it gets a fresh context and, after a chain node,
 * the seqno is forced up to `max(prev.seqno, seqno)`. WARNs
 * (`fence.chain_nested_chain`) if `fence` is itself a chain node.
 *
 * @kernel dma_fence_chain_init
 */
export function dmaFenceChainInit(
  chain: DmaFenceChain,
  prev: DmaFence | null,
  fence: DmaFence,
  seqno: number,
): void {
  const k = chain.kernel;
  const prevChain = toDmaFenceChain(prev);
  chain.prev = prev;
  chain.fence = fence;
  chain.prevSeqno = 0;
  let context: number;
  if (prevChain && seqnoIsLater((prevChain.flags & SEQNO64) !== 0, seqno, prevChain.seqno)) {
    context = prevChain.context;
    chain.prevSeqno = prevChain.seqno;
  } else {
    context = dmaFenceContextAlloc(k, 1);
    if (prevChain) seqno = Math.max(prevChain.seqno, seqno);
  }
  chain.init(dmaFenceChainOps, null, context, seqno, SEQNO64);
  if (dmaFenceIsChain(fence)) {
    fenceSplat(
      k,
      'fence.chain_nested_chain',
      'WARNING: dma_fence_chain_init() with a chain node as the contained fence',
      'Chain nodes may only be linked through prev; flatten the contained fence into a dma_fence_array instead.',
    );
  }
}
