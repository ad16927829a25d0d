/**
 * Fences put or released before `dma_fence_init` (issue 10's fence
 * lifetime rules).
 */
import type { DmaFence } from './forward.ts';
import { fenceSplat } from './rules.ts';

function what(f: DmaFence): string {
  return `${f.constructor.name} (allocated, never initialised)`;
}

/**
 * `dma_fence_put` on a fence that `dma_fence_init` never initialised (an
 * allocated container on an error path, a driver's kzalloc'ed fence): its
 * kref was never set, so the kernel's refcount underflows. The put is not
 * carried out.
 *
 * @kernel dma_fence_put → kref_put → refcount_warn_saturate (lib/refcount.c)
 */
export function reportPutUninitialized(f: DmaFence): void {
  fenceSplat(
    f.kernel,
    'fence.put_uninitialized',
    'refcount_t: underflow; use-after-free.',
    `dma_fence_put() on ${what(f)}: dma_fence_init() never set its refcount.\n` +
      'Free an allocated but uninitialised container with its free function (dma_fence_array_free, dma_fence_chain_free) or kfree, not dma_fence_put.',
    { fence: f.constructor.name },
  );
}

/**
 * `dma_fence_release` reached for a fence that was never initialised: its
 * `ops` are NULL in the kernel. Nothing is released.
 *
 * @kernel dma_fence_release (drivers/dma-buf/dma-fence.c)
 */
export function reportReleaseUninitialized(f: DmaFence): void {
  fenceSplat(
    f.kernel,
    'fence.release_uninitialized',
    'BUG: kernel NULL pointer dereference in dma_fence_release',
    `${what(f)} was released before dma_fence_init(): fence->ops is NULL, so dma_fence_release() dereferences a NULL pointer.`,
    { fence: f.constructor.name },
    'bug',
  );
}

