import { Errno, MAX_SCHEDULE_TIMEOUT } from '../kernel/index.ts';
import { DmaResvUsage } from '../resv/index.ts';
import { dmaBufMoveNotify } from './attach.ts';
import type { DmaBuf } from './forward.ts';
import { reportNotUnmapped, stateOf } from './revoke-track.ts';

// The accounting the attach and map code call lives below them, in revoke-track.ts.
export { noteUnmapped, trackRevokedMapping } from './revoke-track.ts';

/** Options of `dmaBufRevoke`. */
export interface RevokeOptions {
  /** Revoke for good (device close): un-revoke is refused afterwards. */
  permanent?: boolean;
  /**
   * After unlocking, wait this long for every importer to unmap its revoked
   * mappings, then WARN (`dma_buf.mapping_not_unmapped`). Default 1000 ms
   * (VFIO's 2026 revoke); 0 does not wait (the 6.19 behaviour).
   */
  waitUnmapMs?: number;
}

/**
 * Exporter revoke: under the resv lock mark the buffer revoked (no new
 * attach or map: `-ENODEV`), invalidate every attachment (`moveNotify`,
 * exactly once per state change: revoking a revoked buffer notifies
 * nobody), wait without limit for every fence in the resv (BOOKKEEP),
 * unlock; then wait up to `waitUnmapMs` for the importers to unmap their
 * revoked mappings, WARNing (`dma_buf.mapping_not_unmapped`) if one does
 * not. Returns 0. Process context, resv lock not held; sleeps.
 *
 * @kernel vfio_pci_dma_buf_move(vdev, true), vfio_pci_dma_buf_cleanup, the 2026 revoke sequence (dma_buf_invalidate_mappings)
 */
export async function dmaBufRevoke(dmabuf: DmaBuf, opts: RevokeOptions = {}): Promise<number> {
  const k = dmabuf.kernel;
  k.mightSleep('dma_buf_revoke');
  const resv = dmabuf.resv;
  await resv.lock(null);
  if (opts.permanent) dmabuf.revokedPermanently = true;
  if (dmabuf.revoked) {
    resv.unlock();
    return 0;
  }
  dmabuf.revoked = true;
  stateOf(k);
  if (k.events.active) k.emit('dmabuf-revoke', { dmabuf: dmabuf.id, revoked: true });
  await dmaBufMoveNotify(dmabuf);
  await resv.waitTimeout(DmaResvUsage.BOOKKEEP, false, MAX_SCHEDULE_TIMEOUT);
  resv.unlock();
  const waitMs = opts.waitUnmapMs ?? 1000;
  if (waitMs > 0 && dmabuf.revokePending > 0) {
    const r = await dmabuf.unmapWq.waitEventTimeout(
      () => dmabuf.revokePending === 0,
      k.msecsToJiffies(waitMs),
    );
    if (r === 0) {
      const st = stateOf(k);
      for (const m of st.mappings)
        if (m.attach.dmabuf === dmabuf && m.state === 'revoked')
          reportNotUnmapped(k, st, m, `${waitMs} ms after the revoke`);
    }
  }
  return 0;
}

/**
 * Exporter un-revoke (after a reset, when memory decoding is enabled
 * again): under the resv lock clear the revoked state and invalidate every
 * attachment once more, so importers map again. Nothing happens if the
 * buffer is not revoked; `-ENODEV` if it was revoked permanently. Process
 * context, resv lock not held.
 *
 * @kernel vfio_pci_dma_buf_move(vdev, false)
 */
export async function dmaBufUnrevoke(dmabuf: DmaBuf): Promise<number> {
  const k = dmabuf.kernel;
  k.mightSleep('dma_buf_unrevoke');
  const resv = dmabuf.resv;
  await resv.lock(null);
  if (!dmabuf.revoked || dmabuf.revokedPermanently) {
    resv.unlock();
    return dmabuf.revokedPermanently ? -Errno.ENODEV : 0;
  }
  dmabuf.revoked = false;
  if (k.events.active) k.emit('dmabuf-revoke', { dmabuf: dmabuf.id, revoked: false });
  await dmaBufMoveNotify(dmabuf);
  resv.unlock();
  return 0;
}
