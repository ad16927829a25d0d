import { GFP_KERNEL, kzalloc } from '../kernel/index.ts';
import type { Kernel } from '../kernel/index.ts';

/**
 * A GFP_KERNEL allocation made by the fence layer (`kzalloc` for arrays,
 * chain nodes, stubs, sync_files): false when the chooser injects a failure.
 * Inside a thread it is a real `kzalloc` (might_alloc: reclaim dependency and
 * might_sleep). During scenario setup, before any thread runs, there is no
 * context to check and no failure is injected.
 */
export function fenceAlloc(k: Kernel, size: number, site: string): boolean {
  if (k.currentOrNull === null) return true;
  return kzalloc(k, size, GFP_KERNEL, site) !== null;
}
