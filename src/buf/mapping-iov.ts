import { Errno } from '../kernel/index.ts';
import { devIsPci, pciPhysfn, pciResourceLen, pciResourceStart } from '../pci/index.ts';
import type { Device, PciDev } from '../pci/index.ts';
import type { Awaitable } from '../kernel/index.ts';
import type { DmaBufAttachment } from './forward.ts';
import { DmaBufMappingType } from './mapping-type.ts';
import type { DmaBufExpMatch, DmaBufImpMatch } from './mapping-type.ts';

/** IOV match data: the device and the BAR the entry talks about. */
export interface IovMatchData {
  readonly dev: Device;
  readonly bar: number;
}

/** One slice of the BAR, inclusive physical start and end (`struct range`). */
export interface IovRange {
  readonly start: number;
  readonly end: number;
}

/**
 * The IOV type's map result: which VF and BAR the ranges lie in, so the PF
 * can translate each BAR offset into its own device address (inside the
 * VF's memory quota) instead of using a bus address.
 */
export interface DmaBufIovRanges {
  readonly vf: PciDev;
  readonly bar: number;
  readonly ranges: readonly IovRange[];
}

/** The IOV exporter ops; called with the resv lock held. */
export interface IovExpOps {
  mapIov(attach: DmaBufAttachment): Awaitable<DmaBufIovRanges | number>;
  unmapIov?(attach: DmaBufAttachment, ranges: DmaBufIovRanges): Awaitable<void>;
}

/**
 * The SR-IOV "IOV interconnect": the exporter is a VF (vfio-pci bound to it),
 * the importer must be that VF's physical function (`pci_physfn`) talking
 * about the same BAR; anything else declines (the search continues with the
 * next entry). Not a PCI route: a logical PF↔VF relation.
 *
 * @kernel iov_interconnect, MATCH_INTERCONNECT (dma-buf interconnect RFC v2, Oct 2025)
 */
export const DMA_BUF_MAPPING_IOV = new DmaBufMappingType<IovMatchData, IovMatchData, IovExpOps>(
  'IOV interconnect',
  {
    match(_dmabuf, exp, imp) {
      if (!devIsPci(exp.dev) || !devIsPci(imp.dev)) return -Errno.EOPNOTSUPP;
      if (pciPhysfn(exp.dev) !== imp.dev || exp.dev === imp.dev) return -Errno.EOPNOTSUPP;
      return exp.bar === imp.bar ? 0 : -Errno.EOPNOTSUPP;
    },
  },
);

/**
 * Exporter entry: `vf`'s BAR `bar`.
 *
 * @kernel MATCH_INTERCONNECT(iov_interconnect, ...) on the exporter side (dma-buf interconnect RFC v2), named like the mapping-types RFC's DMA_BUF_EMAPPING_* entries
 */
export function dmaBufEmappingIov(
  ops: IovExpOps,
  vf: PciDev,
  bar: number,
): DmaBufExpMatch<IovMatchData, IovExpOps> {
  return DMA_BUF_MAPPING_IOV.exporter(ops, { dev: vf, bar });
}

/**
 * Importer entry (`MATCH_INTERCONNECT(iov_interconnect, dev, bar)`): the PF and the BAR it understands.
 *
 * @kernel MATCH_INTERCONNECT(iov_interconnect, dev, bar) (dma-buf interconnect RFC v2)
 */
export function dmaBufImappingIov(pf: Device, bar: number): DmaBufImpMatch<IovMatchData> {
  return DMA_BUF_MAPPING_IOV.importer({ dev: pf, bar });
}

/**
 * Offset of `addr` inside the VF BAR of an IOV result (what the PF translates).
 *
 * @kernel none: the subtraction an IOV importer (the Xe PF) does to find its offset in the VF BAR
 */
export function dmaBufIovBarOffset(r: DmaBufIovRanges, addr: number): number {
  return addr - pciResourceStart(r.vf, r.bar);
}

/** One translated IOV range: the VF it lies in and its offset and length inside that VF's BAR. */
export interface IovBarSlice {
  readonly vf: PciDev;
  readonly offset: number;
  readonly len: number;
}

/**
 * What the PF importer does with an IOV map result before using it (Xe's
 * interconnect path): find which of its VFs' BAR windows holds each range
 * (none: `-EINVAL`, e.g. system RAM), and refuse a range that lies in
 * another VF than the one the negotiation named (`-EPERM`: a malicious VF
 * must not reach a sibling's memory). On error the importer unmaps and falls
 * back to the legacy mapping.
 *
 * @kernel xe_dma_buf_map_interconnect range checks (interconnect RFC v2, drivers/gpu/drm/xe)
 */
export function dmaBufIovTranslate(
  pf: PciDev,
  negotiated: PciDev,
  r: DmaBufIovRanges,
): IovBarSlice[] | number {
  const out: IovBarSlice[] = [];
  const vfs = pf.sriov?.virtfns ?? [];
  for (const range of r.ranges) {
    const owner = vfs.find((vf) => {
      const start = pciResourceStart(vf, r.bar);
      return range.start >= start && range.end < start + pciResourceLen(vf, r.bar);
    });
    if (!owner) return -Errno.EINVAL;
    if (owner !== negotiated) return -Errno.EPERM;
    out.push({
      vf: owner,
      offset: range.start - pciResourceStart(owner, r.bar),
      len: range.end - range.start + 1,
    });
  }
  return out;
}
