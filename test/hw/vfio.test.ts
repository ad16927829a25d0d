import { describe, expect, it } from 'vitest';
import { dmaHeapBufferAlloc } from '../../src/buf/index.ts';
import { IommufdImporter, legacyStaticImport, RdmaPeerImporter, SriovPfImporter, VfioPciDevice } from '../../src/hw/index.ts';
import { msleep } from '../../src/kernel/index.ts';
import type { Kernel } from '../../src/kernel/index.ts';
import { DMA_BIDIRECTIONAL, pciResourceStart } from '../../src/pci/index.ts';
import { MiB, VF_BAR, vfioMachine } from '../../scenarios/_vfio.ts';
import { rules, runTest } from './helpers.ts';

function setup(k: Kernel) {
  const m = vfioMachine(k);
  return { m, vdev: new VfioPciDevice(k, m.vf0) };
}

describe('vfio-pci dma-buf export: argument validation', () => {
  it('returns the kernel errnos', async () => {
    await runTest(async (k) => {
      const { vdev } = setup(k);
      const r = (ranges: { offset: number; length: number }[], extra: { regionIndex?: number; flags?: number } = {}) =>
        vdev.featureDmaBuf({ regionIndex: extra.regionIndex ?? VF_BAR, flags: extra.flags ?? 0, dmaRanges: ranges });
      expect(await r([])).toBe(-22);
      expect(await r([{ offset: 0, length: MiB }], { flags: 1 })).toBe(-22);
      expect(await r([{ offset: 0, length: MiB }], { regionIndex: 6 })).toBe(-19);
      expect(await r([{ offset: 0, length: MiB }], { regionIndex: 7 })).toBe(-19);
      expect(await r([{ offset: 100, length: MiB }])).toBe(-22);
      expect(await r([{ offset: 0, length: 100 }])).toBe(-22);
      expect(await r([{ offset: 0, length: 0 }])).toBe(-22);
      expect(await r([{ offset: 255 * MiB, length: 2 * MiB }])).toBe(-22);
      expect(await r([{ offset: 2 ** 53 - 4096, length: 8192 }])).toBe(-75);
      // BAR 1 is not a memory BAR of the VF: no provider.
      expect(await r([{ offset: 0, length: 4096 }], { regionIndex: 1 })).toBe(-22);
      const ok = await r([{ offset: 0, length: MiB }, { offset: 4 * MiB, length: MiB }]);
      expect(typeof ok).toBe('object');
      if (typeof ok !== 'number') {
        expect(ok.size).toBe(2 * MiB);
        ok.put();
      }
      // Unregistration in progress (providers still there): the registration cannot be taken.
      vdev.registered = false;
      expect(await r([{ offset: 0, length: MiB }])).toBe(-19);
      await vdev.unbind();
    });
  });

  it('a device without get_dmabuf_phys cannot export (-EOPNOTSUPP)', async () => {
    await runTest(async (k) => {
      const m = vfioMachine(k);
      const vdev = new VfioPciDevice(k, m.vf1, { ops: { getDmabufPhys: null } });
      expect(await vdev.featureDmaBuf({ regionIndex: VF_BAR, dmaRanges: [{ offset: 0, length: MiB }] })).toBe(-95);
    });
  });
});

describe('vfio-pci dma-buf: attach, map, revoke', () => {
  it('attach rules: static importers refused, none while revoked; maps fail while revoked', async () => {
    const { r } = await runTest(async (k) => {
      const { m, vdev } = setup(k);
      const buf = await vdev.featureDmaBuf({ regionIndex: VF_BAR, dmaRanges: [{ offset: 0, length: MiB }] });
      if (typeof buf === 'number') throw new Error(String(buf));
      expect(await legacyStaticImport(buf, m.display)).toBe(-95);
      // A dynamic importer that does not accept peer-to-peer is refused too.
      expect(await buf.dynamicAttach(m.display, { allowPeer2peer: false, moveNotify: () => {} })).toBe(-95);
      const rdma = new RdmaPeerImporter(k, m.nic);
      expect(await rdma.importBuf(buf)).toBe(0);
      // BUS_ADDR through the switch: physical + bus offset, no IOMMU.
      expect(rdma.sgt!.sgl[0]!.dmaAddress).toBe(pciResourceStart(m.vf0, VF_BAR) + (m.vf0.bar(VF_BAR)!.busOffset));
      await vdev.setCommandMemory(false);
      expect(buf.revoked).toBe(true);
      expect(await new RdmaPeerImporter(k, m.display).importBuf(buf)).toBe(-19);
      expect(await rdma.dma()).toBe(-19);
      await vdev.setCommandMemory(true);
      expect(await rdma.dma()).toBe(0);
      await rdma.close();
      buf.put();
      await vdev.unbind();
    });
    expect(rules(r.splats)).toEqual([]);
  });

  it('mapping without the resv lock is reported', async () => {
    const { r } = await runTest(async (k) => {
      const { m, vdev } = setup(k);
      const buf = await vdev.featureDmaBuf({ regionIndex: VF_BAR, dmaRanges: [{ offset: 0, length: MiB }] });
      if (typeof buf === 'number') throw new Error(String(buf));
      const a = await buf.dynamicAttach(m.nic, { allowPeer2peer: true, moveNotify: () => {} });
      if (typeof a === 'number') throw new Error(String(a));
      const sgt = await a.mapAttachment(DMA_BIDIRECTIONAL);
      if (typeof sgt !== 'number') await a.unmapAttachmentUnlocked(sgt, DMA_BIDIRECTIONAL);
      await buf.detach(a);
      buf.put();
      await vdev.unbind();
    });
    expect(rules(r.splats)).toContain('dma_buf.map_without_resv_lock');
  });

  it('FLR: one invalidate before and one after; none after if memory stays disabled; none when nothing changes', async () => {
    await runTest(async (k) => {
      const { m, vdev } = setup(k);
      const buf = await vdev.featureDmaBuf({ regionIndex: VF_BAR, dmaRanges: [{ offset: 0, length: MiB }] });
      if (typeof buf === 'number') throw new Error(String(buf));
      const rdma = new RdmaPeerImporter(k, m.nic);
      await rdma.importBuf(buf);
      let during = 0;
      k.kthreadRun('during-reset', async () => {
        await msleep(k, 50);
        expect(vdev.resetting).toBe(true);
        during = await rdma.dma();
      });
      await vdev.flr();
      expect(during).toBe(-19);
      expect(rdma.invalidations).toBe(2);
      await vdev.setCommandMemory(true); // no change: no notification
      expect(rdma.invalidations).toBe(2);
      await vdev.setCommandMemory(false);
      expect(rdma.invalidations).toBe(3);
      await vdev.flr(); // already revoked, memory off: nothing before, nothing after
      expect(rdma.invalidations).toBe(3);
      expect(buf.revoked).toBe(true);
      await vdev.setPowerState('D3hot');
      await vdev.setCommandMemory(true); // still in D3hot: stays revoked
      expect(buf.revoked).toBe(true);
      await vdev.setPowerState('D0');
      expect(buf.revoked).toBe(false);
      expect(rdma.invalidations).toBe(4);
      await rdma.close();
      buf.put();
      await vdev.unbind();
    });
  });

  it('a dma-buf created while memory decoding is off starts revoked', async () => {
    await runTest(async (k) => {
      const { vdev } = setup(k);
      await vdev.setCommandMemory(false);
      const buf = await vdev.featureDmaBuf({ regionIndex: VF_BAR, dmaRanges: [{ offset: 0, length: MiB }] });
      if (typeof buf === 'number') throw new Error(String(buf));
      expect(buf.revoked).toBe(true);
      buf.put();
      await vdev.unbind();
    });
  });

  it('close: permanent revoke, one invalidate, maps fail with -ENODEV, the fd stays valid until closed', async () => {
    await runTest(async (k) => {
      const { m, vdev } = setup(k);
      const buf = await vdev.featureDmaBuf({ regionIndex: VF_BAR, dmaRanges: [{ offset: 0, length: MiB }] });
      if (typeof buf === 'number') throw new Error(String(buf));
      const rdma = new RdmaPeerImporter(k, m.nic);
      await rdma.importBuf(buf);
      await vdev.close();
      expect(rdma.invalidations).toBe(1);
      expect(buf.revokedPermanently).toBe(true);
      expect(await rdma.dma()).toBe(-19);
      expect(await buf.unrevoke()).toBe(-19);
      expect(buf.released).toBe(false);
      expect(vdev.registrationRefs).toBe(0);
      await rdma.close();
      buf.put();
      expect(buf.released).toBe(true);
      await vdev.unbind();
    });
  });

  it('an importer that never unmaps makes the revoke wait 1 s and warn', async () => {
    let took = 0;
    const { r } = await runTest(async (k) => {
      const { m, vdev } = setup(k);
      const buf = await vdev.featureDmaBuf({ regionIndex: VF_BAR, dmaRanges: [{ offset: 0, length: MiB }] });
      if (typeof buf === 'number') throw new Error(String(buf));
      const rdma = new (class extends RdmaPeerImporter {
        override moveNotify(): Promise<void> {
          return Promise.resolve(); // keeps its mapping
        }
      })(k, m.nic);
      await rdma.importBuf(buf);
      const t0 = k.nowNs;
      await vdev.setCommandMemory(false);
      took = k.nowNs - t0;
      await rdma.close();
      buf.put();
      await vdev.unbind();
    });
    expect(took).toBeGreaterThanOrEqual(1e9);
    expect(rules(r.splats)).toEqual(['dma_buf.mapping_not_unmapped']);
  });
});

describe('importers', () => {
  it('iommufd: multi-range and non-VFIO buffers are -EOPNOTSUPP; revoke unmaps every domain; no automatic remap', async () => {
    await runTest(async (k) => {
      const { vdev } = setup(k);
      const iommufd = new IommufdImporter(k, 2);
      const multi = await vdev.featureDmaBuf({ regionIndex: VF_BAR, dmaRanges: [{ offset: 0, length: MiB }, { offset: 2 * MiB, length: MiB }] });
      if (typeof multi === 'number') throw new Error(String(multi));
      expect(await iommufd.mapFile(multi, 0x1000_0000)).toBe(-95);
      const heap = dmaHeapBufferAlloc(k, MiB);
      if (typeof heap === 'number') throw new Error(String(heap));
      expect(await iommufd.mapFile(heap, 0x1000_0000)).toBe(-95);
      const buf = await vdev.featureDmaBuf({ regionIndex: VF_BAR, dmaRanges: [{ offset: MiB, length: MiB }] });
      if (typeof buf === 'number') throw new Error(String(buf));
      const area = await iommufd.mapFile(buf, 0x1000_0000);
      if (typeof area === 'number') throw new Error(String(area));
      const phys = pciResourceStart(vdev.pdev, VF_BAR) + MiB;
      expect(iommufd.dma(0x1000_0000, 0)).toBe(phys);
      expect(iommufd.dma(0x1000_0000, 1)).toBe(phys);
      await vdev.flr();
      expect(iommufd.dma(0x1000_0000, 0)).toBeNull();
      expect(iommufd.dma(0x1000_0000, 1)).toBeNull();
      expect(area.revoked).toBe(true);
      expect(await iommufd.remap(area)).toBe(0);
      expect(iommufd.dma(0x1000_0000, 1)).toBe(phys);
      await iommufd.close();
      for (const b of [multi, heap, buf]) b.put();
      await vdev.unbind();
    });
  });

  it('SR-IOV PF: negotiates IOV and translates offsets; a range of another VF is -EPERM and falls back to the scatter table', async () => {
    await runTest(async (k) => {
      const m = vfioMachine(k);
      const v0 = new VfioPciDevice(k, m.vf0);
      const v1 = new VfioPciDevice(k, m.vf1);
      const b0 = await v0.featureDmaBuf({ regionIndex: VF_BAR, dmaRanges: [{ offset: 8192, length: 4096 }] });
      const b1 = await v1.featureDmaBuf({ regionIndex: VF_BAR, dmaRanges: [{ offset: 0, length: 4096 }] });
      if (typeof b0 === 'number' || typeof b1 === 'number') throw new Error('export failed');
      const pf = new SriovPfImporter(k, m.pf, VF_BAR);
      expect(await pf.import(b0, m.vf0)).toBe(0);
      expect(pf.mode).toBe('iov');
      // VF0's slice of the PF's IOV resource, at the same offset.
      expect(pf.deviceAddrs).toEqual([pciResourceStart(m.pf, 7 + VF_BAR) + 8192]);
      const pf2 = new SriovPfImporter(k, m.pf, VF_BAR);
      expect(await pf2.import(b1, m.vf0)).toBe(0);
      expect(pf2.refusals).toBe(1);
      expect(pf2.mode).toBe('sgt');
      expect(pf2.sgt).not.toBeNull();
      await pf.close();
      await pf2.close();
      b0.put();
      b1.put();
      await v0.unbind();
      await v1.unbind();
    });
  });
});
