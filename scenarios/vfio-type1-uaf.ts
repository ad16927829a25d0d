/**
 * The hole the vfio dma-buf export closes (Jason Gunthorpe to Shuai Xue,
 * Oct 2025): VFIO type1 gives a VM peer-to-peer by fishing MMIO PFNs out of
 * a user VMA that maps another device's BAR (follow_pfnmap) and programming
 * them into its IOMMU domain. Nothing ties that mapping to the first
 * device: when it is unbound its VMAs are zapped and its removal completes,
 * yet the second device's container still maps the stale PFNs, and its next
 * DMA hits MMIO whose provider is gone.
 *
 * Expectation: `vfio.mmio_use_after_free`.
 */
import { defineScenario } from '../src/scenario/index.ts';
import { VfioPciDevice, VfioType1Container } from '../src/hw/index.ts';
import { MiB, VF_BAR, vfioMachine } from './_vfio.ts';

export default defineScenario({
  name: 'vfio-type1-uaf',
  description: 'a second device\'s type1 container keeps an MMIO PFN of the first device after that device is unbound',
  expect: { verdict: 'splat', rules: ['vfio.mmio_use_after_free'] },
  setup(k, ctx) {
    const m = vfioMachine(k);
    const first = new VfioPciDevice(k, m.vf0);
    const type1 = new VfioType1Container(k);
    k.kthreadRun('vmm', async () => {
      // The VMM mmaps VF0's BAR and maps it into VF1's container for guest P2P.
      const r = type1.mapDmaFromPfnmap(first, VF_BAR, 0, 2 * MiB, 0x4000_0000);
      if (r) throw new Error(`VFIO_IOMMU_MAP_DMA failed: ${r}`);
      type1.dma(0x4000_0000);
      await first.unbind();
      ctx.note(`${m.vf0.name} unbound; the container still maps IOVA 0x40000000 -> 0x${type1.domain.translate(0x4000_0000)!.toString(16)}`);
      type1.dma(0x4000_0000);
    });
  },
});
