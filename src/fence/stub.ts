import { SpinLock } from '../kernel/index.ts';
import { fenceAlloc } from './alloc.ts';
import type { Kernel } from '../kernel/index.ts';
import { DmaFence } from './fence.ts';
import type { DmaFenceOps } from './ops.ts';
import { ENABLE_SIGNAL } from './flags.ts';
import { fenceState } from './state.ts';

/**
 * `dma_fence_stub_ops`: both names are "stub".
 *
 * @kernel dma_fence_stub_ops
 */
export const dmaFenceStubOps: DmaFenceOps = {
  getDriverName: () => 'stub',
  getTimelineName: () => 'stub',
};

function stubLock(k: Kernel): SpinLock {
  const s = fenceState(k);
  return (s.stubLock ??= new SpinLock(k, 'dma_fence_stub_lock', { key: 'dma_fence_stub_lock' }));
}

/**
 * Signal a fresh stub fence at `timestampNs`. Inside a thread this takes the
 * stub lock as the kernel does; during scenario setup (no thread yet) the
 * fence has no callbacks and nobody else can see it, so it is marked
 * signalled directly.
 */
function signalStub(k: Kernel, f: DmaFence, timestampNs: number): void {
  f.flags |= ENABLE_SIGNAL;
  if (k.currentOrNull !== null) {
    f.signalTimestamp(timestampNs);
    return;
  }
  f.signalCore(timestampNs);
}

/**
 * `dma_fence_get_stub`: one signalled fence per kernel (context 0, seqno 0,
 * "stub"/"stub"), created and signalled on first use (its timestamp is the
 * time of that first call). Every call returns a new reference to it.
 *
 * @kernel dma_fence_get_stub
 */
export function dmaFenceGetStub(k: Kernel): DmaFence {
  const s = fenceState(k);
  if (s.stub === null) {
    const f = new DmaFence(k, dmaFenceStubOps, stubLock(k), 0, 0);
    f.refcount.trackLeaks = false; // the global stub is never freed
    s.stub = f;
    signalStub(k, f, k.nowNs);
  }
  return s.stub.get();
}

/**
 * `dma_fence_allocate_private_stub`: a new fence (stub ops, context 0, seqno
 * 0, the shared stub lock), ENABLE_SIGNAL set and signalled with
 * `timestampNs`. Null when the allocation fails (GFP_KERNEL).
 *
 * @kernel dma_fence_allocate_private_stub
 */
export function dmaFenceAllocatePrivateStub(k: Kernel, timestampNs: number): DmaFence | null {
  if (!fenceAlloc(k, 64, 'dma_fence_allocate_private_stub')) return null;
  const f = new DmaFence(k, dmaFenceStubOps, stubLock(k), 0, 0);
  signalStub(k, f, timestampNs);
  return f;
}
