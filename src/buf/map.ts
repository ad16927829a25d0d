import { Errno, MAX_SCHEDULE_TIMEOUT } from '../kernel/index.ts';
import { DmaResvUsage } from '../resv/index.ts';
import type { DmaDataDirection } from '../pci/index.ts';
import { DmaBufMapping } from './mapping.ts';
import type { DmaBuf, DmaBufAttachment } from './forward.ts';
import { DMA_BUF_MAPPING_IOV } from './mapping-iov.ts';
import type { DmaBufIovRanges, IovExpOps } from './mapping-iov.ts';
import { DMA_BUF_MAPPING_PAL } from './mapping-pal.ts';
import type { DmaBufPhysList, PalExpOps } from './mapping-pal.ts';
import { DMA_BUF_MAPPING_SGT, dmaBufGetSgtOps } from './mapping-sgt.ts';
import type { AnyMappingType } from './mapping-type.ts';
import { noteUnmapped } from './revoke-track.ts';
import type { SgTable } from './sg-table.ts';

/** Operations on a detached attachment are uses after free (the kernel kfree'd it). */
function checkAttach(attach: DmaBufAttachment, op: string): void {
  if (!attach.detached) return;
  attach.dmabuf.kernel.splat({
    rule: 'dma_buf.attachment_use_after_free',
    severity: 'bug',
    headline: `BUG: KASAN: use-after-free in ${op}`,
    body: `${attach.toString()} was detached (and freed) before this call`,
  });
}

/**
 * The locking convention: map, unmap, pin, unpin (and the typed maps) need
 * the buffer's resv lock. Reported as `dma_buf.map_without_resv_lock`.
 */
function requireResvLock(attach: DmaBufAttachment, op: string): void {
  const resv = attach.dmabuf.resv;
  if (resv.held()) return;
  const k = attach.dmabuf.kernel;
  k.splat({
    rule: 'dma_buf.map_without_resv_lock',
    severity: 'warn',
    headline: `WARNING: ${op}: dma_resv_assert_held(dmabuf->resv) failed`,
    body:
      `${k.currentOrNull?.name ?? '?'} calls ${op} on ${attach.toString()} (${attach.isDynamic ? 'dynamic' : 'static'} importer) without the resv lock.\n` +
      'Hold dma_resv_lock(dmabuf->resv) around it, or use the _unlocked variant.',
    data: { dmabuf: attach.dmabuf.id, op, dynamic: attach.isDynamic },
  });
}

function record<T>(
  attach: DmaBufAttachment,
  type: AnyMappingType,
  result: T,
  dir: number,
  pinned: boolean,
): void {
  attach.mappings.set(result, new DmaBufMapping(attach, type, result, dir, pinned));
  emitMap(attach, type, 0);
}

function emitMap(attach: DmaBufAttachment, type: AnyMappingType, result: number): void {
  const k = attach.dmabuf.kernel;
  if (k.events.active)
    k.emit('dmabuf-map', {
      dmabuf: attach.dmabuf.id,
      attachment: attach.id,
      dev: attach.dev?.name ?? null,
      mapType: type.name,
      result,
    });
}

/** Forget a mapping being unmapped; null (with a WARN) if it was not handed out by this attachment. */
function take(attach: DmaBufAttachment, result: unknown, op: string): DmaBufMapping | null {
  const m = attach.mappings.get(result);
  const k = attach.dmabuf.kernel;
  if (!m) {
    k.splat({
      rule: 'dma_buf.unmap_unknown',
      severity: 'warn',
      headline: `WARNING: ${op} of a mapping this attachment does not hold`,
      body: `${attach.toString()}: the mapping was never returned by a map of this attachment, or was already unmapped`,
    });
    return null;
  }
  attach.mappings.delete(result);
  noteUnmapped(attach.dmabuf, m);
  if (k.events.active)
    k.emit('dmabuf-unmap', {
      dmabuf: attach.dmabuf.id,
      attachment: attach.id,
      dev: attach.dev?.name ?? null,
      mapType: m.type.name,
    });
  return m;
}

const warnedBusy = new WeakSet<DmaBuf>();

/**
 * `dma_buf_pin`: dynamic importers only (WARN otherwise), resv lock held;
 * forwards to the exporter's `pin` (its error is returned).
 *
 * @kernel dma_buf_pin
 */
export async function dmaBufPin(attach: DmaBufAttachment): Promise<number> {
  const dmabuf = attach.dmabuf;
  checkAttach(attach, 'dma_buf_pin');
  if (!attach.isDynamic) warnStatic(attach, 'dma_buf_pin');
  requireResvLock(attach, 'dma_buf_pin');
  const r = dmabuf.ops.pin ? await dmabuf.ops.pin(attach) : 0;
  if (r === 0) attach.pinCount++;
  return r;
}

/** `dma_buf_unpin`: dynamic importers only, resv lock held. @kernel dma_buf_unpin */
export async function dmaBufUnpin(attach: DmaBufAttachment): Promise<void> {
  const dmabuf = attach.dmabuf;
  checkAttach(attach, 'dma_buf_unpin');
  if (!attach.isDynamic) warnStatic(attach, 'dma_buf_unpin');
  requireResvLock(attach, 'dma_buf_unpin');
  if (dmabuf.ops.unpin) await dmabuf.ops.unpin(attach);
  attach.pinCount--;
}

function warnStatic(attach: DmaBufAttachment, op: string): void {
  attach.dmabuf.kernel.splat({
    rule: 'dma_buf.pin_static',
    severity: 'warn',
    headline: `WARNING: ${op}: WARN_ON(!attach->importer_ops)`,
    body: 'Only dynamic importers may pin.',
  });
}

/**
 * `dma_buf_map_attachment`: resv lock held (`dma_buf.map_without_resv_lock`
 * otherwise); the attachment must have negotiated the scatter-table type
 * (`-EINVAL`); `-ENODEV` while revoked. A static importer of a dynamic
 * exporter pins first (`-EBUSY` WARNs once). The exporter's map result is
 * returned; a static importer then waits, interruptibly and without limit,
 * for the KERNEL fences (unmapping on error). Process context; sleeps.
 *
 * @kernel dma_buf_map_attachment, dma_buf_sgt_map_attachment (mapping-types RFC)
 */
export async function dmaBufMapAttachment(
  attach: DmaBufAttachment,
  dir: DmaDataDirection,
): Promise<SgTable | number> {
  const dmabuf = attach.dmabuf;
  const k = dmabuf.kernel;
  k.mightSleep('dma_buf_map_attachment');
  checkAttach(attach, 'dma_buf_map_attachment');
  requireResvLock(attach, 'dma_buf_map_attachment');
  const ops = dmaBufGetSgtOps(attach);
  if (!ops) return -Errno.EINVAL;
  if (dmabuf.revoked) {
    emitMap(attach, DMA_BUF_MAPPING_SGT, -Errno.ENODEV);
    return -Errno.ENODEV;
  }
  const pinOnMap = !!dmabuf.ops.pin && !attach.isDynamic;
  if (pinOnMap) {
    const r = await dmabuf.ops.pin!(attach);
    if (r === -Errno.EBUSY && !warnedBusy.has(dmabuf)) {
      warnedBusy.add(dmabuf);
      k.splat({
        rule: 'dma_buf.pin_busy',
        severity: 'warn',
        headline: 'WARNING: dma_buf_map_attachment: WARN_ON_ONCE(ret == -EBUSY)',
        body: 'The exporter made the buffer inaccessible although attachments prevent that.',
      });
    }
    if (r) return r;
  }
  const sgt = (await ops.mapDmaBuf(attach, dir)) ?? -Errno.ENOMEM;
  if (typeof sgt === 'number') {
    if (pinOnMap) await dmabuf.ops.unpin!(attach);
    emitMap(attach, DMA_BUF_MAPPING_SGT, sgt);
    return sgt;
  }
  if (!attach.isDynamic) {
    const r = await dmabuf.resv.waitTimeout(DmaResvUsage.KERNEL, true, MAX_SCHEDULE_TIMEOUT);
    if (r < 0) {
      await ops.unmapDmaBuf(attach, sgt, dir);
      if (pinOnMap) await dmabuf.ops.unpin!(attach);
      return r;
    }
  }
  record(attach, DMA_BUF_MAPPING_SGT, sgt, dir, pinOnMap);
  return sgt;
}

/**
 * `dma_buf_unmap_attachment`: resv lock held; the exporter's unmap, then
 * unpin if the map pinned. Process context.
 *
 * @kernel dma_buf_unmap_attachment
 */
export async function dmaBufUnmapAttachment(
  attach: DmaBufAttachment,
  sgt: SgTable,
  dir: DmaDataDirection,
): Promise<void> {
  const dmabuf = attach.dmabuf;
  checkAttach(attach, 'dma_buf_unmap_attachment');
  requireResvLock(attach, 'dma_buf_unmap_attachment');
  const m = take(attach, sgt, 'dma_buf_unmap_attachment');
  const ops = dmaBufGetSgtOps(attach);
  if (!m || !ops) return;
  await ops.unmapDmaBuf(attach, sgt, dir);
  if (m.pinnedOnMap) await dmabuf.ops.unpin!(attach);
}

/** `dma_buf_map_attachment_unlocked`: takes and drops the resv lock (no context) around the map. @kernel dma_buf_map_attachment_unlocked */
export async function dmaBufMapAttachmentUnlocked(
  attach: DmaBufAttachment,
  dir: DmaDataDirection,
): Promise<SgTable | number> {
  const resv = attach.dmabuf.resv;
  attach.dmabuf.kernel.mightSleep('dma_buf_map_attachment_unlocked');
  await resv.lock(null);
  try {
    return await dmaBufMapAttachment(attach, dir);
  } finally {
    resv.unlock();
  }
}

/** `dma_buf_unmap_attachment_unlocked`. @kernel dma_buf_unmap_attachment_unlocked */
export async function dmaBufUnmapAttachmentUnlocked(
  attach: DmaBufAttachment,
  sgt: SgTable,
  dir: DmaDataDirection,
): Promise<void> {
  const resv = attach.dmabuf.resv;
  await resv.lock(null);
  try {
    await dmaBufUnmapAttachment(attach, sgt, dir);
  } finally {
    resv.unlock();
  }
}

/**
 * Common checks of the typed (non scatter-table) maps: resv lock held,
 * dynamic attachment (`-EINVAL`), the type negotiated (`-EOPNOTSUPP`), not
 * revoked (`-ENODEV`). Returns the exporter's ops for the type or an errno.
 */
function typedMapOps<Ops>(
  attach: DmaBufAttachment,
  type: AnyMappingType,
  op: string,
): Ops | number {
  attach.dmabuf.kernel.mightSleep(op);
  checkAttach(attach, op);
  requireResvLock(attach, op);
  if (!attach.isDynamic) return -Errno.EINVAL;
  if (attach.mapType?.type !== type) return -Errno.EOPNOTSUPP;
  if (attach.dmabuf.revoked) {
    emitMap(attach, type, -Errno.ENODEV);
    return -Errno.ENODEV;
  }
  return attach.mapType.exp.ops as Ops;
}

/**
 * `dma_buf_pal_map_phys`: the physical address list of a PAL attachment
 * (dynamic only, resv lock held). Errors as `typedMapOps`, or the exporter's.
 *
 * @kernel dma_buf_pal_map_phys (mapping-types RFC)
 */
export async function dmaBufPalMapPhys(attach: DmaBufAttachment): Promise<DmaBufPhysList | number> {
  const ops = typedMapOps<PalExpOps>(attach, DMA_BUF_MAPPING_PAL, 'dma_buf_pal_map_phys');
  if (typeof ops === 'number') return ops;
  const r = await ops.mapPhys(attach);
  if (typeof r === 'number') {
    emitMap(attach, DMA_BUF_MAPPING_PAL, r);
    return r;
  }
  record(attach, DMA_BUF_MAPPING_PAL, r, 0, false);
  return r;
}

/** `dma_buf_pal_unmap_phys`. @kernel dma_buf_pal_unmap_phys */
export async function dmaBufPalUnmapPhys(
  attach: DmaBufAttachment,
  list: DmaBufPhysList,
): Promise<void> {
  requireResvLock(attach, 'dma_buf_pal_unmap_phys');
  const m = take(attach, list, 'dma_buf_pal_unmap_phys');
  const ops = attach.mapType?.exp.ops as PalExpOps | undefined;
  if (m && ops?.unmapPhys) await ops.unmapPhys(attach, list);
}

/**
 * `dma_buf_map_interconnect` for the IOV type: the VF BAR ranges the PF
 * translates itself (dynamic only, resv lock held).
 *
 * @kernel dma_buf_map_interconnect (interconnect RFC v1/v2)
 */
export async function dmaBufIovMap(attach: DmaBufAttachment): Promise<DmaBufIovRanges | number> {
  const ops = typedMapOps<IovExpOps>(attach, DMA_BUF_MAPPING_IOV, 'dma_buf_map_interconnect');
  if (typeof ops === 'number') return ops;
  const r = await ops.mapIov(attach);
  if (typeof r === 'number') {
    emitMap(attach, DMA_BUF_MAPPING_IOV, r);
    return r;
  }
  record(attach, DMA_BUF_MAPPING_IOV, r, 0, false);
  return r;
}

/** `dma_buf_unmap_interconnect` for the IOV type. @kernel dma_buf_unmap_interconnect */
export async function dmaBufIovUnmap(
  attach: DmaBufAttachment,
  ranges: DmaBufIovRanges,
): Promise<void> {
  requireResvLock(attach, 'dma_buf_unmap_interconnect');
  const m = take(attach, ranges, 'dma_buf_unmap_interconnect');
  const ops = attach.mapType?.exp.ops as IovExpOps | undefined;
  if (m && ops?.unmapIov) await ops.unmapIov(attach, ranges);
}

/**
 * Model hook for importers and simulated devices: DMA through `result` (a
 * table, list or ranges this attachment mapped) is about to happen. A
 * mapping invalidated by a revoke is `dma_buf.use_after_revoke` (the DMA side
 * of a use after free of MMIO); one already unmapped is
 * `dma_buf.use_after_unmap`. Returns true if the access is legal.
 *
 * @kernel none: model hook; in the kernel a device's DMA through a revoked or unmapped mapping shows only as an IOMMU fault or corruption
 */
export function dmaBufMappingAccess(
  attach: DmaBufAttachment,
  result: unknown,
  what = 'DMA',
): boolean {
  const k = attach.dmabuf.kernel;
  const m = attach.mappings.get(result);
  if (!m) {
    k.splat({
      rule: 'dma_buf.use_after_unmap',
      severity: 'bug',
      headline: `BUG: ${what} through an unmapped dma-buf mapping`,
      body: `${attach.toString()}: the mapping was unmapped (or never mapped) by this attachment; the IOMMU would fault`,
      data: { dmabuf: attach.dmabuf.id },
    });
    return false;
  }
  if (m.state === 'revoked') {
    k.splat({
      rule: 'dma_buf.use_after_revoke',
      severity: 'bug',
      headline: `BUG: ${what} through a revoked dma-buf mapping`,
      body:
        `${attach.toString()}: the exporter revoked the buffer at ${m.invalidatedAtNs} ns and invalidated this ${m.type.name} mapping; ` +
        'the importer must stop using it and unmap (the memory may already belong to someone else, or the device be in reset)',
      data: { dmabuf: attach.dmabuf.id, mapType: m.type.name, revokedAtNs: m.invalidatedAtNs },
    });
    return false;
  }
  return true;
}
