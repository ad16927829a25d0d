/**
 * The debug check of `dma_fence_unwrap_merge`'s result (issue 10): it runs
 * in checked kernels (a debug build: lockdep or the race detector
 * installed).
 */
import type { Kernel } from '../kernel/index.ts';
import { dmaFenceIsArray } from './array.ts';
import type { DmaFence } from './fence.ts';
import { dmaFenceIsLater } from './ordering.ts';
import { fenceSplat } from './rules.ts';

/** True in a debug kernel (a checker installed), where the debug rules run. */
export function fenceDebug(k: Kernel): boolean {
  return k.validator !== null || k.hb !== null;
}

/**
 * The invariants of `dma_fence_unwrap_merge`'s result, given the pending
 * leaves it merged: a stub when none was pending; the one pending leaf, or
 * the latest of one context; otherwise a flat `dma_fence_array` with
 * exactly one member per context, the latest pending fence of that
 * context, in ascending context order. A result that keeps several fences
 * of one context (or an older one) grows without bound when a driver keeps
 * merging a timeline's points into one sync_file, and waits for work that
 * already completed. Reports `fence.unwrap_merge_invariant`.
 *
 * @kernel __dma_fence_unwrap_merge, dma_fence_dedup_array (drivers/dma-buf/dma-fence-unwrap.c)
 */
export function checkUnwrapMergeResult(k: Kernel, leaves: readonly DmaFence[], result: DmaFence | null): boolean {
  if (result === null) return true;
  const latest = new Map<number, DmaFence>();
  for (const f of leaves) {
    const cur = latest.get(f.context);
    if (!cur || dmaFenceIsLater(f, cur)) latest.set(f.context, f);
  }
  const problems: string[] = [];
  const members = dmaFenceIsArray(result) ? result.fences.slice(0, result.numFences) : [result];
  if (latest.size === 0) {
    if (!result.signalled) problems.push('nothing was pending, yet the result is not a signalled stub');
  } else {
    const contexts = new Set<number>();
    let prev = -1;
    for (const m of members) {
      if (dmaFenceIsArray(m)) problems.push(`member ${m.context}:${m.seqno} is itself a container`);
      if (contexts.has(m.context)) problems.push(`context ${m.context} appears more than once`);
      else if (m.context < prev) problems.push(`members are not sorted by context (${m.context} after ${prev})`);
      contexts.add(m.context);
      prev = Math.max(prev, m.context);
      const want = latest.get(m.context);
      if (!want) problems.push(`member ${m.context}:${m.seqno} is not one of the pending inputs`);
      else if (dmaFenceIsLater(want, m)) problems.push(`context ${m.context}: keeps seqno ${m.seqno}, not the latest pending ${want.seqno}`);
    }
    for (const c of latest.keys()) if (!contexts.has(c)) problems.push(`context ${c} (pending) is missing from the result`);
  }
  if (problems.length === 0) return true;
  fenceSplat(
    k,
    'fence.unwrap_merge_invariant',
    `WARNING: dma_fence_unwrap_merge() result ${result.context}:${result.seqno} breaks its invariants`,
    `${problems.slice(0, 8).join('\n')}${problems.length > 8 ? `\n... and ${problems.length - 8} more` : ''}\n` +
      `pending inputs: ${latest.size} context(s); result: ${members.length} fence(s)`,
    { problems, contexts: latest.size, members: members.length },
  );
  return false;
}
