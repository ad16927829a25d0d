import { Access, Errno, GFP_KERNEL, kzalloc } from '../kernel/index.ts';
import { attachmentsAccess } from './attach-list.ts';
import type { Device } from '../pci/index.ts';
import { DmaBufAttachment } from './attachment.ts';
import type { DmaBufAttachOps } from './attachment.ts';
import type { DmaBuf } from './forward.ts';
import { dmaBufMatchMapping } from './mapping-type.ts';
import type { DmaBufExpMatch, DmaBufImpMatch, DmaBufMatchArgs } from './mapping-type.ts';
import { dmaBufEmappingSgt, dmaBufImappingSgt } from './mapping-sgt.ts';
import { trackRevokedMapping } from './revoke-track.ts';

/**
 * `dma_buf_sgt_exp_compat_match`: the scatter-table entry offered on behalf
 * of an exporter that knows nothing of mapping types; it routes the typed
 * map/unmap to the exporter's `map_dma_buf` / `unmap_dma_buf`.
 *
 * @kernel dma_buf_sgt_exp_compat_match (mapping-types RFC)
 */
export function dmaBufSgtExpCompatMatch(dmabuf: DmaBuf): DmaBufExpMatch {
  const ops = dmabuf.ops;
  return dmaBufEmappingSgt({
    mapDmaBuf: (attach, dir) => ops.mapDmaBuf!(attach, dir),
    unmapDmaBuf: (attach, sgt, dir) => ops.unmapDmaBuf!(attach, sgt, dir),
  });
}

function emitAttach(attach: DmaBufAttachment, result: number): void {
  const k = attach.dmabuf.kernel;
  if (!k.events.active) return;
  k.emit('dmabuf-attach', {
    dmabuf: attach.dmabuf.id,
    attachment: attach.id,
    importer: attach.importerName,
    dev: attach.dev?.name ?? null,
    dynamic: attach.isDynamic,
    mapType: attach.mapType?.type.name ?? null,
    result,
  });
}

/**
 * `dma_buf_mapping_attach` (mapping types): create an attachment whose
 * importer accepts the types in `impMatches`. The exporter's
 * `matchMapping` (or the compatibility scatter-table entry for a legacy
 * exporter) picks the type: the first exporter entry with an agreeing
 * importer entry wins and is recorded in `attach.mapType`; no agreement is
 * `-EINVAL`, a match function's hard error aborts with that error. Then the
 * exporter's `attach` runs (its error is returned) and the attachment is
 * added to the list under the resv lock. While the buffer is revoked the
 * result is `-ENODEV`. Process context, resv lock not held; sleeps.
 *
 * @kernel dma_buf_mapping_attach (mapping-types RFC), dma_buf_dynamic_attach
 */
export async function dmaBufMappingAttach(
  dmabuf: DmaBuf,
  impMatches: readonly DmaBufImpMatch[],
  importerOps: DmaBufAttachOps | null,
  importerPriv: unknown,
  dev: Device | null = null,
): Promise<DmaBufAttachment | number> {
  const k = dmabuf.kernel;
  k.mightSleep('dma_buf_attach');
  if (dmabuf.released) dmabuf.file.kref.useAfterFree('dma_buf_attach');
  if (importerOps && typeof importerOps.moveNotify !== 'function') {
    k.splat({
      rule: 'dma_buf.attach_invalid',
      severity: 'warn',
      headline: 'WARNING: dma_buf_dynamic_attach: importer_ops without move_notify',
      body: 'A dynamic importer must implement move_notify (invalidate_mappings).',
    });
    return -Errno.EINVAL;
  }
  if (!kzalloc(k, 128, GFP_KERNEL, 'dma_buf_attach')) return -Errno.ENOMEM;
  const attach = new DmaBufAttachment(dmabuf, dev, importerOps, importerPriv);
  if (dmabuf.revoked) {
    emitAttach(attach, -Errno.ENODEV);
    return -Errno.ENODEV;
  }
  const args: DmaBufMatchArgs = { dmabuf, attach, impMatches };
  let r = dmabuf.ops.matchMapping
    ? dmabuf.ops.matchMapping(args)
    : dmaBufMatchMapping(args, [dmaBufSgtExpCompatMatch(dmabuf)]);
  if (r === 0 && dmabuf.ops.attach) r = await dmabuf.ops.attach(dmabuf, attach);
  if (r !== 0) {
    emitAttach(attach, r);
    return r;
  }
  await dmabuf.resv.lock(null);
  // Revocation runs under the same lock: an attachment is either notified or refused.
  if (dmabuf.revoked) {
    dmabuf.resv.unlock();
    if (dmabuf.ops.detach) await dmabuf.ops.detach(dmabuf, attach);
    emitAttach(attach, -Errno.ENODEV);
    return -Errno.ENODEV;
  }
  attachmentsAccess(dmabuf, Access.WRITE, 'dma_buf_attach');
  dmabuf.attachments.push(attach);
  dmabuf.resv.unlock();
  emitAttach(attach, 0);
  return attach;
}

/**
 * `dma_buf_dynamic_attach`: attach `dev`; `importerOps` non-null makes a
 * dynamic importer (`allowPeer2peer` copied to `attach.peer2peer`). The
 * importer list is the scatter table only, so this works with legacy and
 * mapping-type-aware exporters alike. `-EINVAL` for importer ops without
 * `moveNotify`, `-ENOMEM`, the exporter's error (e.g. `-EBUSY`), or
 * `-ENODEV` while revoked. Process context, resv lock not held.
 *
 * @kernel dma_buf_dynamic_attach
 */
export function dmaBufDynamicAttach(
  dmabuf: DmaBuf,
  dev: Device,
  importerOps: DmaBufAttachOps | null,
  importerPriv: unknown,
): Promise<DmaBufAttachment | number> {
  return dmaBufMappingAttach(
    dmabuf,
    [dmaBufImappingSgt(dev, importerOps?.allowPeer2peer ?? false)],
    importerOps,
    importerPriv,
    dev,
  );
}

/** `dma_buf_attach`: a static attachment (no importer ops, never peer-to-peer). @kernel dma_buf_attach */
export function dmaBufAttach(dmabuf: DmaBuf, dev: Device): Promise<DmaBufAttachment | number> {
  return dmaBufDynamicAttach(dmabuf, dev, null, null);
}

/**
 * `dma_buf_detach`: unlink under the resv lock, then the exporter's
 * `detach`. A mismatched buffer WARNs and does nothing; detaching with
 * mappings still live WARNs (`dma_buf.detach_with_mappings`: the importer
 * must unmap first). Process context, resv lock not held.
 *
 * @kernel dma_buf_detach
 */
export async function dmaBufDetach(dmabuf: DmaBuf, attach: DmaBufAttachment): Promise<void> {
  const k = dmabuf.kernel;
  k.mightSleep('dma_buf_detach');
  if (attach.dmabuf !== dmabuf || attach.detached) {
    k.splat({
      rule: 'dma_buf.detach_invalid',
      severity: 'warn',
      headline: 'WARNING: dma_buf_detach: WARN_ON(!dmabuf || !attach || dmabuf != attach->dmabuf)',
      body: attach.detached
        ? `${attach.toString()} was already detached`
        : `${attach.toString()} does not belong to ${dmabuf.toString()}`,
    });
    return;
  }
  const live = attach.liveMappings();
  if (live.length) {
    k.splat({
      rule: 'dma_buf.detach_with_mappings',
      severity: 'warn',
      headline: `WARNING: dma_buf_detach with ${live.length} mapping(s) still mapped`,
      body: `${attach.toString()}: unmap every mapping (dma_buf_unmap_attachment) before dma_buf_detach()`,
      data: { dmabuf: dmabuf.id, mappings: live.length },
    });
  }
  await dmabuf.resv.lock(null);
  attachmentsAccess(dmabuf, Access.WRITE, 'dma_buf_detach');
  const i = dmabuf.attachments.indexOf(attach);
  if (i >= 0) dmabuf.attachments.splice(i, 1);
  dmabuf.resv.unlock();
  if (dmabuf.ops.detach) await dmabuf.ops.detach(dmabuf, attach);
  attach.detached = true;
  if (k.events.active)
    k.emit('dmabuf-detach', { dmabuf: dmabuf.id, attachment: attach.id, dev: attach.dev?.name ?? null });
}

/**
 * `dma_buf_move_notify` (`dma_buf_invalidate_mappings`): the exporter, with
 * the resv lock held, tells every dynamic importer to drop its mappings.
 * Their live mappings become `invalidated`; while the buffer is revoked
 * every attachment's live mappings become `revoked` (any later use is
 * `dma_buf.use_after_revoke`), static importers included, who cannot be told.
 *
 * @kernel dma_buf_move_notify, dma_buf_invalidate_mappings (2026 rename)
 */
export async function dmaBufMoveNotify(dmabuf: DmaBuf): Promise<void> {
  const k = dmabuf.kernel;
  dmabuf.resv.assertHeld('dma_buf_move_notify');
  attachmentsAccess(dmabuf, Access.READ, 'dma_buf_move_notify');
  const list = [...dmabuf.attachments];
  if (k.events.active)
    k.emit('dmabuf-move-notify', {
      dmabuf: dmabuf.id,
      attachments: list.filter((a) => a.isDynamic).length,
      revoked: dmabuf.revoked,
    });
  for (const attach of list) {
    for (const m of attach.mappings.values()) {
      if (dmabuf.revoked) {
        if (m.state !== 'revoked') {
          m.state = 'revoked';
          m.invalidatedAtNs = k.nowNs;
          dmabuf.revokePending++;
          trackRevokedMapping(k, m);
        }
      } else if (attach.isDynamic && m.state === 'mapped') {
        m.state = 'invalidated';
        m.invalidatedAtNs = k.nowNs;
      }
    }
    if (!attach.importerOps) continue;
    attach.invalidations++;
    await attach.importerOps.moveNotify(attach);
  }
}
