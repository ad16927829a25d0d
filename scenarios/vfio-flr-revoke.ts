/**
 * vfio-pci exports a slice of a VF's BAR as a dma-buf (v6.19 with the 2026
 * revoke rules) to three revocable importers: the GPU's PF, which negotiates
 * the SR-IOV IOV interconnect and translates BAR offsets itself; an
 * iommufd-like importer, which takes the physical address list into its
 * IOMMU domain; and an RDMA NIC behind the same switch, with a peer-to-peer
 * scatter table of bus addresses. A legacy static importer is refused. An
 * FLR revokes every mapping (each importer is invalidated once before and
 * once after), clearing the memory-enable bit does the same, and closing the
 * device revokes for good.
 *
 * Expectation: clean.
 */
import { defineScenario } from '../src/explore/index.ts';
import { IommufdImporter, legacyStaticImport, RdmaPeerImporter, SriovPfImporter, VfioPciDevice } from '../src/hw/index.ts';
import { Errno } from '../src/kernel/index.ts';
import { MiB, VF_BAR, vfioMachine } from './_vfio.ts';

function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`vfio-flr-revoke: ${what}`);
}

export default defineScenario({
  name: 'vfio-flr-revoke',
  description: 'a VF BAR exported to the PF (IOV), an iommufd-like importer and an RDMA peer; a legacy importer is refused; FLR revokes and restores; close revokes for good',
  expect: { verdict: 'clean' },
  setup(k, ctx) {
    const m = vfioMachine(k);
    const vdev = new VfioPciDevice(k, m.vf0);
    k.kthreadRun('vmm', async () => {
      const dmabuf = await vdev.featureDmaBuf({ regionIndex: VF_BAR, dmaRanges: [{ offset: 0, length: 2 * MiB }] });
      if (typeof dmabuf === 'number') throw new Error(`VFIO_DEVICE_FEATURE_DMA_BUF failed: ${dmabuf}`);
      const pfImp = new SriovPfImporter(k, m.pf, VF_BAR);
      const iommufd = new IommufdImporter(k, 2);
      const rdma = new RdmaPeerImporter(k, m.nic);
      check((await pfImp.import(dmabuf, m.vf0)) === 0 && pfImp.mode === 'iov', 'the PF negotiates the IOV interconnect');
      const area = await iommufd.mapFile(dmabuf, 0x10_0000);
      if (typeof area === 'number') throw new Error(`iommufd map failed: ${area}`);
      check((await rdma.importBuf(dmabuf)) === 0, 'the NIC maps a p2p table');
      check((await legacyStaticImport(dmabuf, m.display)) === -Errno.EOPNOTSUPP, 'a static importer is refused');
      ctx.note(`exported ${dmabuf.size / MiB} MiB of ${m.vf0.name} BAR ${VF_BAR}; importers: PF via ${pfImp.mode}, iommufd (2 domains), NIC via p2p sg table; legacy static importer refused (-EOPNOTSUPP)`);
      check((await pfImp.access(m.vf0)) === 0 && iommufd.dma(0x10_0000) !== null && (await rdma.dma()) === 0, 'every importer reaches the memory');

      await vdev.flr();
      const inv = [pfImp.invalidations, rdma.invalidations, area.attach.invalidations];
      check(inv.every((n) => n === 2), `one invalidate before and one after the FLR (got ${inv.join('/')})`);
      check(iommufd.dma(0x10_0000) === null, 'iommufd does not remap by itself');
      check((await iommufd.remap(area)) === 0 && iommufd.dma(0x10_0000) !== null, 'userspace remaps the iommufd area');
      check((await pfImp.access(m.vf0)) === 0 && (await rdma.dma()) === 0, 'PF and NIC map again after the FLR');
      ctx.note(`FLR: each importer invalidated twice (revoke, restore); iommufd remapped by userspace`);

      await vdev.setCommandMemory(false);
      check((await rdma.dma()) === -Errno.ENODEV && (await pfImp.access(m.vf0)) === -Errno.ENODEV, 'maps fail while memory decoding is off');
      await vdev.setCommandMemory(true);
      check((await rdma.dma()) === 0, 'setting the memory bit restores access');

      const before = rdma.invalidations;
      await vdev.close();
      check(rdma.invalidations === before + 1, 'close invalidates once');
      check((await rdma.dma()) === -Errno.ENODEV && (await iommufd.remap(area)) === -Errno.ENODEV, 'close revokes for good');
      ctx.note(`close: permanent revoke, later maps fail with -ENODEV; ${vdev.resets} reset(s)`);
      await pfImp.close();
      await iommufd.close();
      await rdma.close();
      dmabuf.put();
      await vdev.unbind();
    });
  },
});
