import { ThreadKilled } from '../kernel/index.ts';
import type { DmaFence } from '../fence/index.ts';
import type { DmaResv } from './forward.ts';
import type { DmaResvUsage } from './usage.ts';

/**
 * `dma_resv_assert_held` failed: a `resv.not_locked` WARN (lockdep in the
 * kernel); the operation goes on, as it does there.
 */
export function reportNotLocked(obj: DmaResv, op: string): void {
  const k = obj.kernel;
  k.splat({
    rule: 'resv.not_locked',
    severity: 'warn',
    headline: `WARNING: ${op}: dma_resv_assert_held(${obj.name}) failed`,
    body:
      `${k.currentOrNull?.name ?? '?'} changes or walks ${obj.name} without holding its lock` +
      (obj.wwLock.owner ? ` (held by ${obj.wwLock.owner.name})` : '') +
      '.\nWriters must hold dma_resv_lock(); lock-free readers must use the _unlocked iterators.',
    data: { resv: obj.name, op },
  });
}

/**
 * `BUG_ON(fobj->num_fences >= fobj->max_fences)` in `dma_resv_add_fence`:
 * no reserved slot. Reported as `resv.add_without_reserve`; the thread is
 * killed as BUG kills the task.
 */
export function reportAddWithoutReserve(obj: DmaResv, fence: DmaFence, usage: DmaResvUsage): never {
  const k = obj.kernel;
  const list = obj.fences;
  const t = k.current;
  k.splat({
    rule: 'resv.add_without_reserve',
    severity: 'bug',
    headline:
      'kernel BUG at drivers/dma-buf/dma-resv.c: dma_resv_add_fence: BUG_ON(fobj->num_fences >= fobj->max_fences)',
    body:
      `${t.name} adds fence ${fence.context}:${fence.seqno} (usage ${usage}) to ${obj.name} ` +
      `with ${list ? `${list.numFences} fences and ${list.maxFences} slots` : 'no fence table'}: no slot was reserved.\n` +
      'Call dma_resv_reserve_fences() under the same lock hold as dma_resv_add_fence(): ' +
      'dma_resv_unlock() forgets unused reservations.',
    thread: t,
    data: {
      resv: obj.name,
      context: fence.context,
      seqno: fence.seqno,
      num: list?.numFences ?? 0,
      max: list?.maxFences ?? 0,
    },
  });
  throw new ThreadKilled(-1);
}

/** A finalized reservation object used again: `resv.use_after_fini` (KASAN's use-after-free). */
export function reportUseAfterFini(obj: DmaResv, op: string): void {
  obj.kernel.splat({
    rule: 'resv.use_after_fini',
    severity: 'bug',
    headline: `BUG: KASAN: use-after-free in ${op}`,
    body: `${obj.name} was finalized (dma_resv_fini) while still in use: the object owning it was freed before its users.`,
    data: { resv: obj.name, op },
  });
}
