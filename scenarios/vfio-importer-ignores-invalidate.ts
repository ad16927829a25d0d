/**
 * An RDMA-like importer of a vfio-pci MMIO dma-buf ignores invalidation: on
 * FLR its move_notify returns without unmapping, and the NIC keeps writing
 * through the revoked mapping — into a device under reset, or memory that
 * may belong to someone else. The exporter also waits 1 s for the unmap
 * that never comes and warns.
 *
 * Expectation: `dma_buf.use_after_revoke`.
 */
import { defineScenario } from '../src/scenario/index.ts';
import { RdmaPeerImporter, VfioPciDevice } from '../src/hw/index.ts';
import { msleep } from '../src/kernel/index.ts';
import { MiB, VF_BAR, vfioMachine } from './_vfio.ts';

/** The buggy importer: its move_notify notes the invalidation and keeps the mapping. */
class IgnoringImporter extends RdmaPeerImporter {
  override moveNotify(): Promise<void> {
    this.invalidations++;
    // BUG: no dma_buf_unmap_attachment(): the NIC goes on DMAing through the revoked mapping.
    return Promise.resolve();
  }
}

export default defineScenario({
  name: 'vfio-importer-ignores-invalidate',
  description: 'an importer keeps using its mapping of a vfio-pci BAR after the FLR invalidated it',
  expect: { verdict: 'splat', rules: ['dma_buf.use_after_revoke'] },
  setup(k, ctx) {
    const m = vfioMachine(k);
    const vdev = new VfioPciDevice(k, m.vf0);
    const rdma = new IgnoringImporter(k, m.nic);
    k.kthreadRun('vmm', async () => {
      const dmabuf = await vdev.featureDmaBuf({ regionIndex: VF_BAR, dmaRanges: [{ offset: 0, length: 4 * MiB }] });
      if (typeof dmabuf === 'number') throw new Error(`export failed: ${dmabuf}`);
      if (await rdma.importBuf(dmabuf)) throw new Error('import failed');
      k.kthreadRun('rdma-traffic', async () => {
        for (let i = 0; i < 4; i++) {
          await rdma.dma();
          await msleep(k, 40);
        }
      });
      await msleep(k, 50);
      await vdev.flr();
      ctx.note(`importer invalidated ${rdma.invalidations} times, kept its mapping, DMAed ${rdma.accesses} times`);
      await msleep(k, 200);
      await vdev.close();
      await rdma.close();
      dmabuf.put();
    });
  },
});
