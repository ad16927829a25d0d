import { DMA_BUF_MAPPING_IOV, dmaBufImappingIov, dmaBufImappingPal, dmaBufImappingSgt } from '../buf/index.ts';
import type { DmaBuf, DmaBufAttachment, DmaBufIovRanges, DmaBufPhysList, SgTable } from '../buf/index.ts';
import { Errno, Mutex } from '../kernel/index.ts';
import type { Kernel } from '../kernel/index.ts';
import { DMA_BIDIRECTIONAL, Device, IommuDomain, pciResourceLen, pciResourceStart, pciVfBarInPf } from '../pci/index.ts';
import type { PciDev } from '../pci/index.ts';

/**
 * The SR-IOV GPU PF as an importer of its own VF's BAR (Vivek Kasireddy's
 * interconnect RFC, the Xe PF use case): it offers the IOV type first and
 * translates each VF BAR offset into its own device address (the VF's slice
 * of the PF's IOV resource) instead of using bus addresses. A range that
 * does not belong to the VF it expects is refused with `-EPERM`, and it then
 * falls back to an ordinary peer-to-peer scatter table. On invalidation it
 * unmaps; it maps again on the next use.
 *
 * @kernel none: a reference importer after the Xe PF of the interconnect RFC
 */
export class SriovPfImporter {
  attach: DmaBufAttachment | null = null;
  /** `iov` (translated device addresses) or `sgt` (bus/DMA addresses). */
  mode: 'iov' | 'sgt' | null = null;
  iov: DmaBufIovRanges | null = null;
  sgt: SgTable | null = null;
  /** PF device addresses of the last IOV map. */
  deviceAddrs: number[] = [];
  /** `-EPERM` refusals that led to the fallback. */
  refusals = 0;
  invalidations = 0;

  constructor(
    readonly kernel: Kernel,
    readonly pf: PciDev,
    readonly bar: number,
  ) {}

  private ops(): { allowPeer2peer: boolean; moveNotify: (a: DmaBufAttachment) => Promise<void> } {
    return { allowPeer2peer: true, moveNotify: (a) => this.invalidate(a) };
  }

  /** Attach (IOV preferred, scatter table otherwise) and map; `expectedVf` is the VF the buffer must come from. */
  async import(dmabuf: DmaBuf, expectedVf: PciDev): Promise<number> {
    const a = await dmabuf.mappingAttach([dmaBufImappingIov(this.pf, this.bar), dmaBufImappingSgt(this.pf, true)], this.ops(), this);
    if (typeof a === 'number') return a;
    this.attach = a;
    this.mode = a.mapType?.type === DMA_BUF_MAPPING_IOV ? 'iov' : 'sgt';
    const r = await this.map(expectedVf);
    if (r !== -Errno.EPERM) return r;
    // Fall back to the scatter-table path.
    this.refusals++;
    await dmabuf.detach(a);
    const b = await dmabuf.mappingAttach([dmaBufImappingSgt(this.pf, true)], this.ops(), this);
    if (typeof b === 'number') return b;
    this.attach = b;
    this.mode = 'sgt';
    return this.map(expectedVf);
  }

  /** Map through the negotiated type (resv lock taken here). */
  async map(expectedVf: PciDev): Promise<number> {
    const a = this.attach!;
    const resv = a.dmabuf.resv;
    await resv.lock(null);
    let ret = 0;
    if (this.mode === 'iov') {
      const r = await a.iovMap();
      if (typeof r === 'number') ret = r;
      else {
        const addrs = this.translate(r, expectedVf);
        if (typeof addrs === 'number') {
          await a.iovUnmap(r);
          ret = addrs;
        } else {
          this.iov = r;
          this.deviceAddrs = addrs;
        }
      }
    } else {
      const s = await a.mapAttachment(DMA_BIDIRECTIONAL);
      if (typeof s === 'number') ret = s;
      else this.sgt = s;
    }
    resv.unlock();
    return ret;
  }

  /** BAR offsets → the PF's own addresses for `vf`'s slice; `-EPERM` for a range of another VF. */
  private translate(r: DmaBufIovRanges, expectedVf: PciDev): number[] | number {
    if (r.vf !== expectedVf) return -Errno.EPERM;
    const slot = pciVfBarInPf(r.vf, r.bar);
    if (!slot) return -Errno.EPERM;
    const barStart = pciResourceStart(r.vf, r.bar);
    const barLen = pciResourceLen(r.vf, r.bar);
    const out: number[] = [];
    for (const range of r.ranges) {
      const off = range.start - barStart;
      if (off < 0 || range.end - barStart >= barLen) return -Errno.EPERM;
      out.push(pciResourceStart(slot.pf, slot.resno) + slot.offset + off);
    }
    return out;
  }

  /** `move_notify`: drop the mapping (resv lock held). */
  private async invalidate(a: DmaBufAttachment): Promise<void> {
    this.invalidations++;
    if (this.iov) await a.iovUnmap(this.iov);
    if (this.sgt) await a.unmapAttachment(this.sgt, DMA_BIDIRECTIONAL);
    this.iov = null;
    this.sgt = null;
  }

  /** The GPU accesses the buffer: remap if invalidated. Returns 0 or the map error (e.g. -ENODEV while revoked). */
  async access(expectedVf: PciDev): Promise<number> {
    const a = this.attach;
    if (!a) return -Errno.ENODEV;
    if (!this.iov && !this.sgt) {
      const r = await this.map(expectedVf);
      if (r) return r;
    }
    a.access(this.iov ?? this.sgt, 'PF access to VF memory');
    return 0;
  }

  /** Unmap and detach. */
  async close(): Promise<void> {
    const a = this.attach;
    if (!a) return;
    await a.dmabuf.resv.lock(null);
    if (this.iov) await a.iovUnmap(this.iov);
    if (this.sgt) await a.unmapAttachment(this.sgt, DMA_BIDIRECTIONAL);
    this.iov = null;
    this.sgt = null;
    a.dmabuf.resv.unlock();
    await a.dmabuf.detach(a);
    this.attach = null;
  }
}

/** One dma-buf slice placed in an IOAS (`struct iopt_area` backed by dma-buf pages). */
export interface IommufdArea {
  readonly dmabuf: DmaBuf;
  readonly iova: number;
  attach: DmaBufAttachment;
  list: DmaBufPhysList | null;
  /** Pages marked revoked (phys length 0) by the last invalidation. */
  revoked: boolean;
}

/**
 * An iommufd-like importer: attaches with a global placeholder device (it
 * never uses the DMA API), asks for the physical address list, and programs
 * its IOMMU domains itself with MMIO mappings. On invalidation
 * (`iopt_revoke_notify`, under the resv lock, taking `pages->mutex` inside
 * it) it unmaps the range from every domain and marks the pages revoked; it
 * does not map again by itself — userspace must unmap/remap around a reset.
 *
 * @kernel iommufd dma-buf import (IOMMU_IOAS_MAP_FILE, iopt_revoke_notify; v6.19)
 */
export class IommufdImporter {
  /** `iommufd_global_device`. */
  readonly dev = new Device('iommufd_global');
  readonly domains: IommuDomain[];
  readonly areas: IommufdArea[] = [];
  /** `pages->mutex`. */
  readonly pagesMutex: Mutex;

  constructor(
    readonly kernel: Kernel,
    domains = 1,
  ) {
    this.domains = Array.from({ length: domains }, () => new IommuDomain('dma'));
    this.pagesMutex = new Mutex(kernel, '&pages->mutex', { key: 'iopt_pages.mutex' });
  }

  /** `IOMMU_IOAS_MAP_FILE` with a dma-buf fd: attach, map the physical list, place it at `iova` in every domain. */
  async mapFile(dmabuf: DmaBuf, iova: number): Promise<IommufdArea | number> {
    const a = await dmabuf.mappingAttach([dmaBufImappingPal()], { allowPeer2peer: true, moveNotify: (at) => this.revokeNotify(at) }, this);
    // No physical-list entry offered: not a VFIO dma-buf (vfio_pci_dma_buf_iommufd_map's -EOPNOTSUPP).
    if (a === -Errno.EINVAL) return -Errno.EOPNOTSUPP;
    if (typeof a === 'number') return a;
    const area: IommufdArea = { dmabuf, iova, attach: a, list: null, revoked: false };
    this.areas.push(area);
    const r = await this.fill(area);
    if (r) {
      this.areas.splice(this.areas.indexOf(area), 1);
      await dmabuf.detach(a);
      return r;
    }
    return area;
  }

  private async fill(area: IommufdArea): Promise<number> {
    const resv = area.dmabuf.resv;
    await resv.lock(null);
    const list = await area.attach.palMapPhys();
    if (typeof list === 'number') {
      resv.unlock();
      return list;
    }
    await this.pagesMutex.lock();
    let off = 0;
    for (const r of list.ranges) {
      for (const d of this.domains) d.map(area.iova + off, r.paddr, r.len, true);
      off += r.len;
    }
    area.list = list;
    area.revoked = false;
    this.pagesMutex.unlock();
    resv.unlock();
    return 0;
  }

  /** `iopt_revoke_notify`: unmap from every domain, unmap the list, mark revoked (resv lock held). */
  private async revokeNotify(attach: DmaBufAttachment): Promise<void> {
    const area = this.areas.find((x) => x.attach === attach);
    if (!area?.list) return;
    await this.pagesMutex.lock();
    const len = area.list.ranges.reduce((s, r) => s + r.len, 0);
    for (const d of this.domains) d.unmap(area.iova, len);
    const list = area.list;
    area.list = null;
    area.revoked = true;
    this.pagesMutex.unlock();
    await attach.palUnmapPhys(list);
  }

  /** Userspace remaps an area after a reset (`IOMMU_IOAS_UNMAP` + `MAP_FILE`). 0, or -ENODEV while revoked. */
  remap(area: IommufdArea): Promise<number> {
    return this.fill(area);
  }

  /** A device DMA through domain `d` at `iova`: the physical address reached, or null (an IOMMU fault). */
  dma(iova: number, d = 0): number | null {
    const phys = this.domains[d]!.translate(iova);
    if (phys === null) return null;
    const area = this.areas.find((a) => a.list && iova >= a.iova);
    if (area?.list) area.attach.access(area.list, 'iommufd DMA');
    return phys;
  }

  /** Unmap every area and detach. */
  async close(): Promise<void> {
    for (const area of this.areas.splice(0)) {
      const resv = area.dmabuf.resv;
      await resv.lock(null);
      if (area.list) {
        const len = area.list.ranges.reduce((s, r) => s + r.len, 0);
        for (const d of this.domains) d.unmap(area.iova, len);
        await area.attach.palUnmapPhys(area.list);
        area.list = null;
      }
      resv.unlock();
      await area.dmabuf.detach(area.attach);
    }
  }
}

/**
 * An RDMA-like dynamic importer on a peer PCI device: a peer-to-peer
 * scatter table (bus addresses through a switch, or host-bridge DMA
 * addresses), dropped on invalidation and re-created on the next access (an
 * on-demand-paging NIC). A scenario writes a buggy importer by overriding
 * `moveNotify`.
 *
 * @kernel none: a reference importer after the RDMA on-demand-paging dma-buf umem (ib_umem_dmabuf_get, its move_notify)
 */
export class RdmaPeerImporter {
  attach: DmaBufAttachment | null = null;
  sgt: SgTable | null = null;
  invalidations = 0;
  accesses = 0;

  constructor(
    readonly kernel: Kernel,
    readonly dev: PciDev,
  ) {}

  /** `dma_buf_dynamic_attach` with `allow_peer2peer`. */
  async importBuf(dmabuf: DmaBuf): Promise<number> {
    const a = await dmabuf.dynamicAttach(this.dev, { allowPeer2peer: true, moveNotify: (at) => this.moveNotify(at) }, this);
    if (typeof a === 'number') return a;
    this.attach = a;
    return this.map();
  }

  /** Map under the resv lock. */
  async map(): Promise<number> {
    const a = this.attach!;
    await a.dmabuf.resv.lock(null);
    const s = await a.mapAttachment(DMA_BIDIRECTIONAL);
    a.dmabuf.resv.unlock();
    if (typeof s === 'number') return s;
    this.sgt = s;
    return 0;
  }

  /**
   * The importer's `move_notify`: count the invalidation and drop the
   * mapping (called with the buffer's resv held); the next `dma` remaps.
   *
   * @kernel dma_buf_attach_ops.move_notify
   */
  async moveNotify(a: DmaBufAttachment): Promise<void> {
    this.invalidations++;
    if (!this.sgt) return;
    await a.unmapAttachment(this.sgt, DMA_BIDIRECTIONAL);
    this.sgt = null;
  }

  /** The NIC DMAs to the buffer: remap first if invalidated (ODP). 0, or the map error. */
  async dma(): Promise<number> {
    const a = this.attach;
    if (!a) return -Errno.ENODEV;
    if (!this.sgt) {
      const r = await this.map();
      if (r) return r;
    }
    this.accesses++;
    a.access(this.sgt, 'RDMA write');
    return 0;
  }

  /** Unmap and detach. */
  async close(): Promise<void> {
    const a = this.attach;
    if (!a) return;
    if (this.sgt) {
      await a.dmabuf.resv.lock(null);
      await a.unmapAttachment(this.sgt, DMA_BIDIRECTIONAL);
      a.dmabuf.resv.unlock();
      this.sgt = null;
    }
    await a.dmabuf.detach(a);
    this.attach = null;
  }
}

/**
 * A legacy static importer (`dma_buf_attach`, no importer ops, no
 * peer-to-peer): it cannot be told to drop a mapping, so a revoking MMIO
 * exporter refuses it (`-EOPNOTSUPP`).
 *
 * @kernel dma_buf_attach (a static importer)
 */
export async function legacyStaticImport(dmabuf: DmaBuf, dev: Device): Promise<DmaBufAttachment | number> {
  return dmabuf.attach(dev);
}
