import type { Awaitable } from '../kernel/index.ts';
import type { DmaDataDirection, Device } from '../pci/index.ts';
import type { DmaBuf } from './forward.ts';
import {
  dmaBufIovMap,
  dmaBufIovUnmap,
  dmaBufMapAttachment,
  dmaBufMapAttachmentUnlocked,
  dmaBufMappingAccess,
  dmaBufPalMapPhys,
  dmaBufPalUnmapPhys,
  dmaBufPin,
  dmaBufUnmapAttachment,
  dmaBufUnmapAttachmentUnlocked,
  dmaBufUnpin,
} from './map.ts';
import type { DmaBufIovRanges } from './mapping-iov.ts';
import type { DmaBufPhysList } from './mapping-pal.ts';
import type { DmaBufMapType } from './mapping-type.ts';
import type { SgTable } from './sg-table.ts';
import type { DmaBufMapping } from './mapping.ts';

declare module './forward.ts' {
  /** The forward-declared `DmaBufAttachment` of the files below this one is this class. */
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging: adds DmaBufAttachment's members
  interface DmaBufAttachment extends DmaBufAttachmentClass {}
}
/** The class, under a name the merged declaration above can extend. */
type DmaBufAttachmentClass = DmaBufAttachment;

/**
 * `struct dma_buf_attach_ops`: a dynamic importer's callbacks.
 *
 * @kernel struct dma_buf_attach_ops (include/linux/dma-buf.h)
 */
export interface DmaBufAttachOps {
  /** `allow_peer2peer`: the importer can handle peer-to-peer (MMIO, no struct page) mappings. */
  readonly allowPeer2peer?: boolean;
  /**
   * `move_notify` (renamed `invalidate_mappings` in 2026): called with the
   * resv lock held when the exporter moves or revokes the buffer. Existing
   * mappings stay usable until the fences in the resv signal (not after a
   * revoke); the importer must unmap them and map again (a map made after
   * this returns sees the new placement). Must not take the resv lock.
   */
  moveNotify(attach: DmaBufAttachment): Awaitable<void>;
}

/** Attachment ordinals per buffer. */
const attachIds = new WeakMap<DmaBuf, number>();

/**
 * `struct dma_buf_attachment`: one device's attachment to a buffer.
 * Created by `dmaBufAttach` / `dmaBufDynamicAttach` / `dmaBufMappingAttach`
 * (process context, resv lock not held); the attachment list is protected
 * by the resv lock.
 *
 * The negotiated mapping type is recorded in `mapType`; after a scatter-table
 * match the legacy fields `dev` and `peer2peer` are filled so code that knows
 * nothing of mapping types keeps working.
 *
 * @kernel struct dma_buf_attachment (include/linux/dma-buf.h), attach->map_type (mapping-types RFC)
 */
export class DmaBufAttachment {
  /** `attach->dev`: the importing DMA device (filled after a scatter-table match). */
  dev: Device | null;
  /** `attach->peer2peer`: the importer accepts peer-to-peer mappings. */
  peer2peer = false;
  /** Exporter-private data (`attach->priv`). */
  priv: unknown = null;
  /** The mapping type negotiated at attach time. */
  mapType: DmaBufMapType | null = null;
  /** Mappings handed out and not yet unmapped (and revoked ones until unmapped). */
  readonly mappings = new Map<unknown, DmaBufMapping>();
  /** `moveNotify` calls delivered to this attachment (model statistic). */
  invalidations = 0;
  /** `dmaBufPin` calls not yet balanced by `dmaBufUnpin`. */
  pinCount = 0;
  /** Set by detach; any later use is a use after free. */
  detached = false;

  /** Ordinal of this attachment on its buffer (from 1), naming it in events. */
  readonly id: number;

  constructor(
    readonly dmabuf: DmaBuf,
    dev: Device | null,
    /** `importer_ops`: non-null for a dynamic importer. */
    readonly importerOps: DmaBufAttachOps | null,
    /** `importer_priv`. */
    readonly importerPriv: unknown,
  ) {
    this.dev = dev;
    this.peer2peer = importerOps?.allowPeer2peer ?? false;
    this.id = (attachIds.get(dmabuf) ?? 0) + 1;
    attachIds.set(dmabuf, this.id);
  }

  /**
   * Who imports, for traces: the importer object's class (`importer_priv`)
   * and the DMA device, whichever are known (an interconnect importer may
   * have no `dev`).
   */
  get importerName(): string {
    const p = this.importerPriv;
    const cls = typeof p === 'object' && p !== null && p.constructor !== Object ? p.constructor.name : '';
    const parts = [cls, this.dev?.name ?? ''].filter(Boolean);
    return parts.length ? parts.join(' ') : `attachment ${this.id}`;
  }

  /** `dma_buf_attachment_is_dynamic`: the importer has `importer_ops`. */
  get isDynamic(): boolean {
    return this.importerOps !== null;
  }

  /** @internal called by `dmaBufMatchMapping` on success. */
  recordMapType(m: DmaBufMapType): void {
    this.mapType = m;
  }

  /** `dma_buf_pin` (dynamic importer, resv lock held). */
  pin(): Promise<number> {
    return dmaBufPin(this);
  }

  /** `dma_buf_unpin`. */
  unpin(): Promise<void> {
    return dmaBufUnpin(this);
  }

  /** `dma_buf_map_attachment` (resv lock held): the scatter table or a negative errno. */
  mapAttachment(dir: DmaDataDirection): Promise<SgTable | number> {
    return dmaBufMapAttachment(this, dir);
  }

  /** `dma_buf_unmap_attachment` (resv lock held). */
  unmapAttachment(sgt: SgTable, dir: DmaDataDirection): Promise<void> {
    return dmaBufUnmapAttachment(this, sgt, dir);
  }

  /** `dma_buf_map_attachment_unlocked`. */
  mapAttachmentUnlocked(dir: DmaDataDirection): Promise<SgTable | number> {
    return dmaBufMapAttachmentUnlocked(this, dir);
  }

  /** `dma_buf_unmap_attachment_unlocked`. */
  unmapAttachmentUnlocked(sgt: SgTable, dir: DmaDataDirection): Promise<void> {
    return dmaBufUnmapAttachmentUnlocked(this, sgt, dir);
  }

  /** `dma_buf_pal_map_phys` (physical address list type). */
  palMapPhys(): Promise<DmaBufPhysList | number> {
    return dmaBufPalMapPhys(this);
  }

  /** `dma_buf_pal_unmap_phys`. */
  palUnmapPhys(list: DmaBufPhysList): Promise<void> {
    return dmaBufPalUnmapPhys(this, list);
  }

  /** IOV map (`dma_buf_map_interconnect`). */
  iovMap(): Promise<DmaBufIovRanges | number> {
    return dmaBufIovMap(this);
  }

  /** IOV unmap (`dma_buf_unmap_interconnect`). */
  iovUnmap(ranges: DmaBufIovRanges): Promise<void> {
    return dmaBufIovUnmap(this, ranges);
  }

  /** Model hook: DMA through `result` is about to happen (see `dmaBufMappingAccess`). */
  access(result: unknown, what?: string): boolean {
    return dmaBufMappingAccess(this, result, what);
  }

  /** The mappings still live (not unmapped). */
  liveMappings(): DmaBufMapping[] {
    return [...this.mappings.values()];
  }

  toString(): string {
    return `attachment of ${this.dev?.name ?? '(no dma device)'} to ${this.dmabuf.toString()}`;
  }
}

/**
 * `dma_buf_attach_revocable` (2026): the importer can be told to drop its
 * mappings (it has importer ops with a real invalidate callback), so an
 * exporter that must revoke (VFIO) may accept it.
 *
 * @kernel dma_buf_attach_revocable
 */
export function dmaBufAttachRevocable(attach: DmaBufAttachment): boolean {
  return attach.importerOps !== null && typeof attach.importerOps.moveNotify === 'function';
}
