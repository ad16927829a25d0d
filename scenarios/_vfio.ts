/**
 * The machine of the vfio-* scenarios: one host bridge, a root port, and a
 * switch with an SR-IOV GPU (the PF, two VFs with a 256 MiB VF BAR 2), an
 * RDMA NIC and a display controller on its downstream ports. VF0 is bound
 * to vfio-pci.
 */
import { pciEnableSriov, PciSystem } from '../src/pci/index.ts';
import type { PciDev } from '../src/pci/index.ts';
import type { Kernel } from '../src/kernel/index.ts';

export interface VfioMachine {
  readonly pci: PciSystem;
  readonly pf: PciDev;
  readonly vf0: PciDev;
  readonly vf1: PciDev;
  readonly nic: PciDev;
  readonly display: PciDev;
}

export const VF_BAR = 2;
export const MiB = 1 << 20;

export function vfioMachine(k: Kernel): VfioMachine {
  const pci = new PciSystem({ kernel: k });
  const hb = pci.addHostBridge();
  const rp = pci.addRootPort(hb);
  const sw = pci.addSwitch(rp, { downstreamPorts: 3 });
  const pf = pci.addEndpoint(sw.downstream[0]!, {
    bars: [{ size: 16 * MiB }],
    sriov: { totalVFs: 2, bars: [null, null, { size: 256 * MiB, mem64: true }] },
  });
  if (pciEnableSriov(pf, 2)) throw new Error('pci_enable_sriov failed');
  const nic = pci.addEndpoint(sw.downstream[1]!, { bars: [{ size: MiB }] });
  const display = pci.addEndpoint(sw.downstream[2]!, { bars: [{ size: MiB }] });
  const [vf0, vf1] = pf.sriov!.virtfns;
  return { pci, pf, vf0: vf0!, vf1: vf1!, nic, display };
}
