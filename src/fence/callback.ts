import type { DmaFence } from './forward.ts';
import { fenceName, fenceSplat } from './rules.ts';

/**
 * `dma_fence_func_t`: runs synchronously in the signaller's context with the
 * fence lock held (atomic: it must not sleep and must not take that lock
 * again).
 */
export type DmaFenceFunc<C extends DmaFenceCb = DmaFenceCb> = (fence: DmaFence, cb: C) => void;

/**
 * `struct dma_fence_cb`: a callback node, queued on at most one fence at a
 * time. The list is intrusive (O(1) add and remove) like the kernel's
 * `list_head`; `owner` is the fence whose list holds the node, null when the
 * node is not queued (`list_empty(&cb->node)`). Subclass it to carry your own
 * data (the kernel's `container_of` pattern).
 *
 * @kernel struct dma_fence_cb (include/linux/dma-fence.h)
 */
export class DmaFenceCb {
  func: DmaFenceFunc | null = null;
  /** @internal list links. */
  next: DmaFenceCb | null = null;
  /** @internal list links. */
  prev: DmaFenceCb | null = null;
  /** The fence whose callback list holds this node, or null (not queued). */
  owner: DmaFence | null = null;

  /** True while queued on a fence (`!list_empty(&cb->node)`). */
  get queued(): boolean {
    return this.owner !== null;
  }
}

function doubleAdd(f: DmaFence, cb: DmaFenceCb): void {
  const other = cb.owner!;
  fenceSplat(
    f.kernel,
    'fence.callback_double_add',
    'list_add double add: a dma_fence_cb queued on two fences',
    `the callback is still queued on ${fenceName(other)}; a dma_fence_cb can be queued on one fence at a time`,
  );
  cbUnlink(other, cb);
}

/**
 * @internal `INIT_LIST_HEAD(&cb->node)` for a failed add: the node must not be queued anywhere.
 *
 * @kernel INIT_LIST_HEAD(&cb->node) (dma_fence_add_callback on a signalled fence)
 */
export function cbReset(cb: DmaFenceCb): void {
  const other = cb.owner;
  if (other !== null) doubleAdd(other, cb);
}

/**
 * @internal `list_add_tail(&cb->node, &fence->cb_list)`. Fence lock held.
 *
 * @kernel list_add_tail on dma_fence.cb_list (dma_fence_add_callback)
 */
export function cbAddTail(f: DmaFence, cb: DmaFenceCb): void {
  if (cb.owner !== null) doubleAdd(f, cb);
  cb.owner = f;
  cb.next = null;
  cb.prev = f.cbTail;
  if (f.cbTail !== null) f.cbTail.next = cb;
  else f.cbHead = cb;
  f.cbTail = cb;
}

/**
 * @internal `list_add(&cb->node, &fence->cb_list)` (the default waiter goes first). Fence lock held.
 *
 * @kernel list_add on dma_fence.cb_list
 */
export function cbAddHead(f: DmaFence, cb: DmaFenceCb): void {
  if (cb.owner !== null) doubleAdd(f, cb);
  cb.owner = f;
  cb.prev = null;
  cb.next = f.cbHead;
  if (f.cbHead !== null) f.cbHead.prev = cb;
  else f.cbTail = cb;
  f.cbHead = cb;
}

/**
 * @internal `list_del_init(&cb->node)` from `f`'s list. Fence lock held.
 *
 * @kernel list_del_init(&cb->node) (dma_fence_remove_callback, dma_fence_signal_timestamp_locked)
 */
export function cbUnlink(f: DmaFence, cb: DmaFenceCb): void {
  if (cb.prev !== null) cb.prev.next = cb.next;
  else f.cbHead = cb.next;
  if (cb.next !== null) cb.next.prev = cb.prev;
  else f.cbTail = cb.prev;
  cb.next = cb.prev = null;
  cb.owner = null;
}
