/**
 * vfio-pci exports a slice of a VF's BAR as a dma-buf (v6.19 with the 2026
 * revoke rules) to three revocable importers, each working on its own
 * thread as it would in a real system:
 *
 * - `rdma-nic`: an RDMA NIC behind the same switch keeps DMAs in flight to
 *   the buffer through a peer-to-peer scatter table; after an invalidation
 *   it maps again on demand (ODP), and backs off while the buffer is revoked;
 * - `pf-gpu`: the GPU's PF negotiates the SR-IOV IOV interconnect, translates
 *   BAR offsets into its own addresses and reads the VF's memory now and then;
 * - `iommufd`: an iommufd-like importer places the physical address list in
 *   two IOMMU domains; its device DMAs through them, and after a reset
 *   userspace remaps the area (iommufd never remaps by itself).
 *
 * The VMM (`vmm`) exports the buffer (a legacy static importer is refused),
 * waits until every importer has mapped, and resets the VF with an FLR while
 * they work: the revoke reaches each importer (move_notify, each unmaps),
 * maps fail with -ENODEV during the 100 ms reset, and every importer maps
 * again after the restore. Clearing memory decoding does the same; closing
 * the device revokes for good.
 *
 * Expectation: clean.
 */
import type { DmaBuf } from '../src/buf/index.ts';
import { defineScenario } from '../src/scenario/index.ts';
import {
  IommufdImporter,
  legacyStaticImport,
  RdmaPeerImporter,
  SriovPfImporter,
  VfioPciDevice,
} from '../src/hw/index.ts';
import { Completion, Errno, msleep } from '../src/kernel/index.ts';
import { MiB, VF_BAR, vfioMachine } from './_vfio.ts';

const IOVA = 0x10_0000;

function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`vfio-flr-revoke: ${what}`);
}

export default defineScenario({
  name: 'vfio-flr-revoke',
  description:
    'a VF BAR exported to three importers on their own threads (RDMA NIC with DMAs in flight, the PF via IOV, an iommufd-like domain); an FLR from the VMM revokes, each importer unmaps and maps again after the restore; close revokes for good',
  expect: { verdict: 'clean' },
  setup(k, ctx) {
    const m = vfioMachine(k);
    const vdev = new VfioPciDevice(k, m.vf0);
    const nic = new RdmaPeerImporter(k, m.nic);
    const pf = new SriovPfImporter(k, m.pf, VF_BAR);
    const iommufd = new IommufdImporter(k, 2);

    let buf: DmaBuf | null = null;
    /** The fd handed to the importers (userspace passes it on). */
    const exported = new Completion(k, 'dma-buf fd passed on');
    /** Completed once by each importer when it has mapped. */
    const mapped = new Completion(k, 'importer mapped');
    /** Completed once by each importer when it has stopped. */
    const stopped = new Completion(k, 'importer stopped');
    let closed = false;
    const refused = { nic: 0, pf: 0, iommufd: 0 };

    k.kthreadRun('vmm', async () => {
      const b = await vdev.featureDmaBuf({ regionIndex: VF_BAR, dmaRanges: [{ offset: 0, length: 2 * MiB }] });
      if (typeof b === 'number') throw new Error(`VFIO_DEVICE_FEATURE_DMA_BUF failed: ${b}`);
      check((await legacyStaticImport(b, m.display)) === -Errno.EOPNOTSUPP, 'a static importer is refused');
      buf = b;
      exported.completeAll();
      for (let i = 0; i < 3; i++) await mapped.waitForCompletion();
      await msleep(k, 15); // DMAs in flight

      await vdev.flr(); // revoke, 100 ms reset, restore
      const inv = [nic.invalidations, pf.invalidations, iommufd.areas[0]!.attach.invalidations];
      check(inv.every((n) => n === 2), `one invalidate before and one after the FLR (got ${inv.join('/')})`);
      await msleep(k, 40);
      check(nic.sgt !== null && pf.iov !== null && iommufd.dma(IOVA) !== null, 'every importer maps again after the FLR');
      ctx.note('FLR: every importer invalidated twice (revoke, restore) and mapped again on its own thread');

      await vdev.setCommandMemory(false);
      await msleep(k, 20);
      await vdev.setCommandMemory(true);
      await msleep(k, 40);

      await vdev.close(); // permanent revoke
      closed = true;
      for (let i = 0; i < 3; i++) await stopped.waitForCompletion();
      b.put();
      await vdev.unbind();
      ctx.note(
        `maps refused while revoked: NIC ${refused.nic}, PF ${refused.pf}, iommufd remaps ${refused.iommufd}; ` +
          `invalidations: NIC ${nic.invalidations}, PF ${pf.invalidations}; ${vdev.resets} reset(s)`,
      );
    });

    k.kthreadRun('rdma-nic', async () => {
      await exported.waitForCompletion();
      check((await nic.importBuf(buf!)) === 0, 'the NIC maps a p2p scatter table');
      mapped.complete();
      while (!closed) {
        // Post a DMA; after an invalidation the NIC maps again first (ODP).
        const r = await nic.dma();
        if (r === -Errno.ENODEV) refused.nic++;
        else check(r === 0, `NIC DMA: ${r}`);
        await msleep(k, 10); // the DMA in flight
      }
      check((await nic.dma()) === -Errno.ENODEV, 'after close the NIC cannot map');
      await nic.close();
      stopped.complete();
    });

    k.kthreadRun('pf-gpu', async () => {
      await exported.waitForCompletion();
      check((await pf.import(buf!, m.vf0)) === 0 && pf.mode === 'iov', 'the PF negotiates the IOV interconnect');
      mapped.complete();
      while (!closed) {
        const r = await pf.access(m.vf0);
        if (r === -Errno.ENODEV) refused.pf++;
        else check(r === 0, `PF access: ${r}`);
        await msleep(k, 25);
      }
      await pf.close();
      stopped.complete();
    });

    k.kthreadRun('iommufd', async () => {
      await exported.waitForCompletion();
      const area = await iommufd.mapFile(buf!, IOVA);
      if (typeof area === 'number') throw new Error(`IOMMU_IOAS_MAP_FILE failed: ${area}`);
      mapped.complete();
      while (!closed) {
        // The device behind the domains DMAs; after a revoke it faults until userspace remaps.
        if (iommufd.dma(IOVA) === null && iommufd.dma(IOVA, 1) === null) {
          const r = await iommufd.remap(area);
          if (r === -Errno.ENODEV) refused.iommufd++;
          else check(r === 0, `iommufd remap: ${r}`);
        }
        await msleep(k, 20);
      }
      check((await iommufd.remap(area)) === -Errno.ENODEV, 'after close the area cannot be remapped');
      await iommufd.close();
      stopped.complete();
    });
  },
});
