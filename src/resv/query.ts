import { Errno, GFP_KERNEL, kfree, kmalloc } from '../kernel/index.ts';
import type { KBuffer } from '../kernel/index.ts';
import { dmaFenceArrayCreate, dmaFenceContextAlloc } from '../fence/index.ts';
import type { DmaFence } from '../fence/index.ts';
import { DmaResvIter } from './iter.ts';
import type { DmaResv } from './forward.ts';
import { DmaResvUsage, dmaResvUsageName } from './usage.ts';

/**
 * `dma_resv_get_fences`: an unlocked walk collecting referenced unsignalled
 * fences of `usage` or stronger. On each restart the collected references
 * are dropped and the array is reallocated (`num_fences + 1` entries,
 * GFP_KERNEL); a failed allocation gives `-ENOMEM` with nothing held.
 * No lock needed; process context (may reclaim).
 *
 * @kernel dma_resv_get_fences
 */
export function dmaResvGetFences(obj: DmaResv, usage: DmaResvUsage): DmaFence[] | number {
  const k = obj.kernel;
  let fences: DmaFence[] = [];
  let buf: KBuffer | null = null;
  const cursor = new DmaResvIter(obj, usage);
  for (let f = cursor.firstUnlocked(); f; f = cursor.nextUnlocked()) {
    if (cursor.isRestarted) {
      for (const g of fences) g.put();
      fences = [];
      // krealloc_array(): a new bucket each time in the model.
      const next = kmalloc(k, 8 * (cursor.numFences + 1), GFP_KERNEL, 'dma_resv_get_fences');
      kfree(k, buf);
      buf = next;
      if (!buf) {
        cursor.end();
        return -Errno.ENOMEM;
      }
    }
    fences.push(f.get());
  }
  cursor.end();
  kfree(k, buf);
  return fences;
}

/**
 * `dma_resv_get_singleton`: one fence standing for all unsignalled fences of
 * `usage` or stronger: null when there are none, the fence itself when
 * there is one, else a new wait-all `dma_fence_array` (fresh context, seqno
 * 1) owning the references. `-ENOMEM` on allocation failure. The result
 * must not be added back to a resv (it is a container).
 *
 * @kernel dma_resv_get_singleton
 */
export function dmaResvGetSingleton(obj: DmaResv, usage: DmaResvUsage): DmaFence | null | number {
  const k = obj.kernel;
  const fences = dmaResvGetFences(obj, usage);
  if (typeof fences === 'number') return fences;
  if (fences.length === 0) return null;
  if (fences.length === 1) return fences[0]!;
  const array = dmaFenceArrayCreate(k, fences.length, fences, dmaFenceContextAlloc(k, 1), 1, false);
  if (!array) {
    for (const f of fences) f.put();
    return -Errno.ENOMEM;
  }
  return array;
}

/**
 * `dma_resv_wait_timeout`: wait for each unsignalled fence of `usage` or
 * stronger in turn (unlocked walk), carrying the remaining time forward.
 * Returns `-ERESTARTSYS` (interrupted, `intr`), 0 (timed out, or still busy
 * with a zero timeout) or > 0 (remaining jiffies; 1 for a zero timeout when
 * idle). No lock required (may be held). Process context; sleeps.
 *
 * @kernel dma_resv_wait_timeout
 */
export async function dmaResvWaitTimeout(
  obj: DmaResv,
  usage: DmaResvUsage,
  intr: boolean,
  timeoutJiffies: number,
): Promise<number> {
  let timeout = timeoutJiffies;
  let ret = timeout ? timeout : 1;
  const cursor = new DmaResvIter(obj, usage);
  for (let f = cursor.firstUnlocked(); f; f = cursor.nextUnlocked()) {
    ret = await f.waitTimeout(intr, timeout);
    if (ret <= 0) break;
    // Even with a zero timeout the result is 1.
    if (timeout) timeout = ret;
  }
  cursor.end();
  return ret;
}

/**
 * `dma_resv_test_signaled`: true iff the unlocked walk finds no unsignalled
 * fence of `usage` or stronger. Any process context, no lock needed.
 *
 * @kernel dma_resv_test_signaled
 */
export function dmaResvTestSignaled(obj: DmaResv, usage: DmaResvUsage): boolean {
  const cursor = new DmaResvIter(obj, usage);
  const f = cursor.firstUnlocked();
  cursor.end();
  return f === null;
}

/**
 * `dma_resv_set_deadline`: forward `deadlineNs` to every unsignalled fence
 * of `usage` or stronger. No lock needed.
 *
 * @kernel dma_resv_set_deadline
 */
export function dmaResvSetDeadline(obj: DmaResv, usage: DmaResvUsage, deadlineNs: number): void {
  const cursor = new DmaResvIter(obj, usage);
  for (const f of cursor.unlocked()) f.setDeadline(deadlineNs);
  cursor.end();
}

/**
 * `dma_resv_describe`: lock held; a locked walk with usage READ (BOOKKEEP
 * fences are not shown), one `\t<usage> fence:` line per entry followed by
 * `dma_fence_describe`.
 *
 * @kernel dma_resv_describe
 */
export function dmaResvDescribe(obj: DmaResv): string {
  let out = '';
  const cursor = new DmaResvIter(obj, DmaResvUsage.READ);
  for (const f of cursor.locked())
    out += `\t${dmaResvUsageName(cursor.fenceUsage)} fence:${f.describe()}`;
  return out;
}
