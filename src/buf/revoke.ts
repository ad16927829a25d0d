import { Errno, MAX_SCHEDULE_TIMEOUT } from '../kernel/index.ts';
import type { Kernel } from '../kernel/index.ts';
import { DmaResvUsage } from '../resv/index.ts';
import type { DmaBufMapping } from './attachment.ts';
import { dmaBufMoveNotify } from './attach.ts';
import type { DmaBuf } from './dma-buf.ts';

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

interface RevokeState {
  readonly mappings: Set<DmaBufMapping>;
  readonly reported: WeakSet<DmaBufMapping>;
}

const states = new WeakMap<Kernel, RevokeState>();

function stateOf(k: Kernel): RevokeState {
  let s = states.get(k);
  if (!s) {
    const st: RevokeState = { mappings: new Set(), reported: new WeakSet() };
    s = st;
    states.set(k, st);
    k.addEndCheck(() => {
      for (const m of st.mappings)
        if (m.state === 'revoked') reportNotUnmapped(k, st, m, 'at the end of the run');
    });
  }
  return s;
}

function reportNotUnmapped(k: Kernel, st: RevokeState, m: DmaBufMapping, when: string): void {
  if (st.reported.has(m)) return;
  st.reported.add(m);
  const a = m.attach;
  k.splat({
    rule: 'dma_buf.mapping_not_unmapped',
    severity: 'warn',
    headline: `WARNING: dma-buf importer never unmapped a revoked ${m.type.name} mapping (${when})`,
    body:
      `${a.toString()} was invalidated at ${m.invalidatedAtNs} ns${a.isDynamic ? '' : ' (a static importer: it cannot be told)'} but still holds the mapping ${when}.\n` +
      'An importer must unmap in response to invalidate_mappings (move_notify); the exporter cannot release the memory until it does.',
    thread: when === 'at the end of the run' ? null : undefined,
    data: { dmabuf: a.dmabuf.id, mapType: m.type.name, invalidatedAtNs: m.invalidatedAtNs },
  });
}

/** @internal a mapping was marked revoked by `dmaBufMoveNotify`. */
export function trackRevokedMapping(k: Kernel, m: DmaBufMapping): void {
  stateOf(k).mappings.add(m);
}

/** @internal a mapping is being unmapped: settle revoke accounting and wake the revoker. */
export function noteUnmapped(dmabuf: DmaBuf, m: DmaBufMapping): void {
  if (m.state === 'revoked') {
    dmabuf.revokePending--;
    states.get(dmabuf.kernel)?.mappings.delete(m);
    dmabuf.unmapWq.wakeUpAll();
  }
  m.state = 'unmapped';
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
