import {
  dmaBufAttachRevocable,
  dmaBufEmappingIov,
  dmaBufEmappingPal,
  dmaBufEmappingSgtP2p,
  dmaBufExport,
  dmaBufFreeSgt,
  dmaBufMatchMapping,
  dmaBufPhysVecToSgt,
  fillPhysVec,
  physVecSize,
} from '../buf/index.ts';
import type { DmaBuf, DmaBufExpMatch, DmaBufOps, PhysVec } from '../buf/index.ts';
import { Errno, GFP_KERNEL, kzalloc } from '../kernel/index.ts';
import { PAGE_SIZE, pcimP2pdmaProvider, pciResourceLen, pciResourceStart, PCI_ROM_RESOURCE } from '../pci/index.ts';
import type { P2pdmaProvider } from '../pci/index.ts';
import type { VfioPciDevice } from './forward.ts';

/** `VFIO_DEVICE_FEATURE_DMA_BUF` (used with `VFIO_DEVICE_FEATURE_GET`). */
export const VFIO_DEVICE_FEATURE_DMA_BUF = 11;
/** `VFIO_PCI_ROM_REGION_INDEX`: regions below it are BARs. */
export const VFIO_PCI_ROM_REGION_INDEX = PCI_ROM_RESOURCE;

/** `struct vfio_region_dma_range`. */
export interface VfioRegionDmaRange {
  readonly offset: number;
  readonly length: number;
}

/** `struct vfio_device_feature_dma_buf`. */
export interface VfioDeviceFeatureDmaBuf {
  readonly regionIndex: number;
  readonly openFlags?: number;
  /** Must be 0. */
  readonly flags?: number;
  readonly dmaRanges: readonly VfioRegionDmaRange[];
}

/**
 * `struct vfio_pci_dma_buf`: the exporter's private state of one buffer.
 * The revoked bit is the buffer's (`dmabuf.revoked`), changed under its resv lock.
 *
 * @kernel struct vfio_pci_dma_buf (drivers/vfio/pci/vfio_pci_dmabuf.c)
 */
export class VfioPciDmaBuf {
  dmabuf: DmaBuf | null = null;
  /** Null once the device closed (`vfio_pci_dma_buf_cleanup`). */
  vdev: VfioPciDevice | null;
  /** Outstanding maps (the 2026 kref + completion), for tests. */
  mapCount = 0;
  constructor(
    vdev: VfioPciDevice,
    readonly bar: number,
    readonly provider: P2pdmaProvider,
    readonly physVec: readonly PhysVec[],
    readonly size: number,
  ) {
    this.vdev = vdev;
  }
}

/**
 * `vfio_pci_core_get_dmabuf_phys`: the BAR's p2pdma provider and the
 * physical ranges of the slices (`-EINVAL` without a provider, the
 * range errors of `vfio_pci_core_fill_phys_vec`).
 *
 * @kernel vfio_pci_core_get_dmabuf_phys
 */
export function vfioPciCoreGetDmabufPhys(
  vdev: VfioPciDevice,
  bar: number,
  ranges: readonly VfioRegionDmaRange[],
): { provider: P2pdmaProvider; phys: PhysVec[] } | number {
  const provider = pcimP2pdmaProvider(vdev.pdev, bar);
  if (!provider) return -Errno.EINVAL;
  const phys = fillPhysVec(ranges, pciResourceStart(vdev.pdev, bar), pciResourceLen(vdev.pdev, bar));
  if (typeof phys === 'number') return phys;
  return { provider, phys };
}

/** `validate_dmabuf_input`: non-empty, page-aligned ranges whose total does not overflow. */
function validateDmabufInput(args: VfioDeviceFeatureDmaBuf): number {
  let total = 0;
  for (const r of args.dmaRanges) {
    if (r.offset % PAGE_SIZE || r.length % PAGE_SIZE || !r.length) return -Errno.EINVAL;
    total += r.length;
    // check_add_overflow / DMA_IOVA_USE_SWIOTLB: beyond what the model represents exactly.
    if (!Number.isSafeInteger(total)) return -Errno.EINVAL;
  }
  return 0;
}

function exporterEntries(priv: VfioPciDmaBuf): DmaBufExpMatch[] {
  const k = priv.vdev!.kernel;
  const pdev = priv.vdev!.pdev;
  const entries: DmaBufExpMatch[] = [];
  // IOV first: the PF of this VF translates BAR offsets itself (no bus address, no IOMMU).
  if (pdev.isVirtfn) {
    entries.push(
      dmaBufEmappingIov(
        {
          mapIov: () => {
            priv.mapCount++;
            return { vf: pdev, bar: priv.bar, ranges: priv.physVec.map((p) => ({ start: p.paddr, end: p.paddr + p.len - 1 })) };
          },
          unmapIov: () => {
            priv.mapCount--;
          },
        },
        pdev,
        priv.bar,
      ),
    );
  }
  // vfio_pci_dma_buf_iommufd_map: one physical range and its provider.
  entries.push(
    dmaBufEmappingPal({
      mapPhys: () => {
        if (priv.physVec.length !== 1) return -Errno.EOPNOTSUPP;
        priv.mapCount++;
        return { provider: priv.provider, ranges: priv.physVec };
      },
      unmapPhys: () => {
        priv.mapCount--;
      },
    }),
  );
  // vfio_pci_dma_buf_map: a DMA-only table through the P2P layer.
  entries.push(
    dmaBufEmappingSgtP2p(
      {
        mapDmaBuf: (attach, dir) => {
          const sgt = dmaBufPhysVecToSgt(attach.dev!, priv.provider, priv.physVec, priv.size, dir, { kernel: k });
          if (typeof sgt !== 'number') priv.mapCount++;
          return sgt;
        },
        unmapDmaBuf: (attach, sgt, dir) => {
          dmaBufFreeSgt(attach.dev!, sgt, dir);
          priv.mapCount--;
        },
      },
      pdev,
    ),
  );
  return entries;
}

/** `vfio_pci_dmabuf_ops`. */
function vfioDmabufOps(priv: VfioPciDmaBuf): DmaBufOps {
  return {
    // vfio_pci_dma_buf_attach: peer-to-peer, revocable importers only.
    matchMapping: (args) => {
      if (!args.attach.importerOps?.allowPeer2peer) return -Errno.EOPNOTSUPP;
      if (!dmaBufAttachRevocable(args.attach)) return -Errno.EOPNOTSUPP;
      return dmaBufMatchMapping(args, exporterEntries(priv));
    },
    release: () => {
      const vdev = priv.vdev;
      if (vdev) {
        vdev.dmabufs.delete(priv);
        vdev.putRegistration();
        priv.vdev = null;
      }
    },
  };
}

/**
 * `vfio_pci_core_feature_dma_buf`: export slices of a BAR as a dma-buf.
 * Checks, in the kernel's order: a device without `get_dmabuf_phys`
 * (`-EOPNOTSUPP`); no ranges or non-zero flags (`-EINVAL`); a region that is
 * not a BAR (`-ENODEV`); empty or misaligned ranges, total overflow
 * (`-EINVAL`); ranges past the BAR (`-EINVAL`) or overflowing (`-EOVERFLOW`);
 * a device whose registration is gone (`-ENODEV`). A buffer created while
 * memory decoding is off (or the device is in low power) starts revoked.
 * Returns the buffer (one reference: the fd's). Process context.
 *
 * @kernel vfio_pci_core_feature_dma_buf (drivers/vfio/pci/vfio_pci_dmabuf.c, v6.19)
 */
export async function vfioPciCoreFeatureDmaBuf(vdev: VfioPciDevice, args: VfioDeviceFeatureDmaBuf): Promise<DmaBuf | number> {
  const k = vdev.kernel;
  const getPhys = vdev.ops.getDmabufPhys;
  if (!getPhys) return -Errno.EOPNOTSUPP;
  if (!args.dmaRanges.length || args.flags) return -Errno.EINVAL;
  if (args.regionIndex < 0 || args.regionIndex >= VFIO_PCI_ROM_REGION_INDEX) return -Errno.ENODEV;
  const ret = validateDmabufInput(args);
  if (ret) return ret;
  if (!kzalloc(k, 128 + 16 * args.dmaRanges.length, GFP_KERNEL, 'vfio_pci_dma_buf')) return -Errno.ENOMEM;
  const phys = getPhys(vdev, args.regionIndex, args.dmaRanges);
  if (typeof phys === 'number') return phys;
  if (!vdev.tryGetRegistration()) return -Errno.ENODEV;
  const priv = new VfioPciDmaBuf(vdev, args.regionIndex, phys.provider, phys.phys, physVecSize(phys.phys));
  const dmabuf = dmaBufExport(k, { expName: 'vfio-pci', ops: vfioDmabufOps(priv), size: priv.size, flags: args.openFlags ?? 0o2, priv });
  if (typeof dmabuf === 'number') {
    vdev.putRegistration();
    return dmabuf;
  }
  priv.dmabuf = dmabuf;
  await vdev.memoryLock.downWrite();
  await dmabuf.resv.lock(null);
  dmabuf.revoked = !vdev.memoryAccessible();
  vdev.dmabufs.add(priv);
  dmabuf.resv.unlock();
  vdev.memoryLock.upWrite();
  return dmabuf;
}

/**
 * `vfio_pci_dma_buf_move(vdev, revoked)`: with `memory_lock` held for
 * write, bring every live buffer whose state differs to `revoked` — under its
 * resv lock, notify every attachment (importers invalidate), and on revoke
 * wait up to 1 s for importers to unmap (WARN otherwise). No notification
 * when the state does not change.
 *
 * @kernel vfio_pci_dma_buf_move (and the 2026 revoke sequence)
 */
export async function vfioPciDmaBufMove(vdev: VfioPciDevice, revoked: boolean): Promise<void> {
  vdev.memoryLock.assertHeld(0);
  for (const priv of [...vdev.dmabufs]) {
    const dmabuf = priv.dmabuf!;
    if (dmabuf.released || dmabuf.revoked === revoked) continue;
    if (revoked) await dmabuf.revoke({ waitUnmapMs: 1000 });
    else await dmabuf.unrevoke();
  }
}

/**
 * `vfio_pci_dma_buf_cleanup` (device close): every live buffer is unlinked,
 * detached from the device and revoked for good (notified once); later maps
 * fail with `-ENODEV`; the fds stay valid until closed. Buffers already
 * being released are skipped.
 *
 * @kernel vfio_pci_dma_buf_cleanup
 */
export async function vfioPciDmaBufCleanup(vdev: VfioPciDevice): Promise<void> {
  await vdev.memoryLock.downWrite();
  for (const priv of [...vdev.dmabufs]) {
    const dmabuf = priv.dmabuf!;
    vdev.dmabufs.delete(priv);
    priv.vdev = null;
    if (dmabuf.released || dmabuf.refcount === 0) continue;
    await dmabuf.revoke({ permanent: true, waitUnmapMs: 1000 });
    vdev.putRegistration();
  }
  vdev.memoryLock.upWrite();
}
