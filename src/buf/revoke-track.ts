/**
 * The revoke accounting under the revoke entry points (revoke.ts): which
 * revoked mappings are still held, and the WARN for one never unmapped.
 * The attach and map code below the entry points call into it.
 */
import type { Kernel } from '../kernel/index.ts';
import type { DmaBuf } from './forward.ts';
import type { DmaBufMapping } from './mapping.ts';

/** @internal what a kernel's revokes still wait for. */
export interface RevokeState {
  readonly mappings: Set<DmaBufMapping>;
  readonly reported: WeakSet<DmaBufMapping>;
}

const states = new WeakMap<Kernel, RevokeState>();

/** @internal the revoke accounting of kernel `k`; the first use arms the end-of-run check for mappings never unmapped. */
export function stateOf(k: Kernel): RevokeState {
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

/** @internal WARN (once per mapping) that a revoked mapping is still held `when`. */
export function reportNotUnmapped(k: Kernel, st: RevokeState, m: DmaBufMapping, when: string): void {
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

/**
 * @internal a mapping was marked revoked by `dmaBufMoveNotify`.
 *
 * @kernel none: the revoke accounting the kernel keeps per exporter (VFIO's kref on outstanding maps), kept here for every exporter
 */
export function trackRevokedMapping(k: Kernel, m: DmaBufMapping): void {
  stateOf(k).mappings.add(m);
}

/**
 * @internal a mapping is being unmapped: settle revoke accounting and wake the revoker.
 *
 * @kernel none: the kref_put and complete() of VFIO's revoke wait, kept here for every exporter
 */
export function noteUnmapped(dmabuf: DmaBuf, m: DmaBufMapping): void {
  if (m.state === 'revoked') {
    dmabuf.revokePending--;
    states.get(dmabuf.kernel)?.mappings.delete(m);
    dmabuf.unmapWq.wakeUpAll();
  }
  m.state = 'unmapped';
}
