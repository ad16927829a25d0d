import { GFP, GFP_USER, gfpName, mightAlloc } from '../../kernel/index.ts';
import type { Kernel } from '../../kernel/index.ts';

/** `__GFP_HIGHMEM` (no effect in the model: all memory is directly addressable). */
export const __GFP_HIGHMEM = 0x02;
/** `__GFP_COMP`: the high-order block is a compound page (`compound_order` gives its order). */
export const __GFP_COMP = 0x40000;
/** `GFP_HIGHUSER`. */
export const GFP_HIGHUSER = GFP_USER | __GFP_HIGHMEM;
/** `__GFP_RECLAIM`: both reclaim bits. */
export const __GFP_RECLAIM = GFP.__GFP_DIRECT_RECLAIM | GFP.__GFP_KSWAPD_RECLAIM;

/**
 * The allocation hook of the simulated memory: with a kernel, an allocation
 * that may reclaim records the `fs_reclaim` dependency and might_sleep (when
 * a simulated thread is running), emits an `alloc` event, and asks the
 * chooser whether to fail (`k.inject('alloc', site)`, which numbers the
 * occurrences of a site for replay; never with
 * `__GFP_NOFAIL`). Without a kernel nothing is injected. Returns true when
 * the allocation must fail.
 *
 * @kernel might_alloc, should_fail_alloc_page (fault injection)
 */
export function allocFails(k: Kernel | null, gfp: number, site: string, size = 0): boolean {
  if (!k) return false;
  if (k.currentOrNull) mightAlloc(k, gfp);
  const fail = (gfp & GFP.__GFP_NOFAIL) === 0 && k.inject('alloc', site);
  if (k.events.active) k.emit('alloc', { size, gfp: gfpName(gfp), ok: !fail, site });
  return fail;
}
