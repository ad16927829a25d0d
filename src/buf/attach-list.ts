import { MemLoc } from '../kernel/index.ts';
import type { AccessKind } from '../kernel/index.ts';
import type { DmaBuf } from './forward.ts';

const locs = new WeakMap<DmaBuf, MemLoc>();

/**
 * An instrumented access to `dmabuf->attachments` (the race detector's
 * view of the list): adding and removing attachments write it, walking it
 * reads it. The kernel protects it with the buffer's resv lock, so a walk
 * or a change made without that lock races with the others. A no-op
 * without the race detector.
 *
 * @kernel struct dma_buf.attachments (list_add / list_del / list_for_each_entry under dma_resv_lock)
 */
export function attachmentsAccess(dmabuf: DmaBuf, kind: AccessKind, fn: string): void {
  const k = dmabuf.kernel;
  const hb = k.hb;
  if (hb === null) return;
  const t = k.currentOrNull;
  if (t === null) return;
  let loc = locs.get(dmabuf);
  if (loc === undefined) {
    loc = new MemLoc(`dmabuf->attachments (dma_buf ${dmabuf.id})`, null, 16);
    locs.set(dmabuf, loc);
  }
  hb.access(t, loc, kind, fn);
}
