import { Errno } from '../kernel/index.ts';
import { PCI_EXP_TYPE_ENDPOINT, PCI_IOV_RESOURCES, PCI_SRIOV_NUM_BARS, PciDev, pciDevId, pciPhysfn } from './pci-dev.ts';

/** `pci_iov_virtfn_bus(pf, id)`. @kernel pci_iov_virtfn_bus */
export function pciIovVirtfnBus(pf: PciDev, id: number): number {
  const s = pf.sriov!;
  return pf.busNr + ((pf.devfn + s.offset + s.stride * id) >> 8);
}

/** `pci_iov_virtfn_devfn(pf, id)`. @kernel pci_iov_virtfn_devfn */
export function pciIovVirtfnDevfn(pf: PciDev, id: number): number {
  const s = pf.sriov!;
  return (pf.devfn + s.offset + s.stride * id) & 0xff;
}

/**
 * `pci_iov_vf_id(vf)`: the VF's index under its PF, from the routing ids;
 * `-EINVAL` for a function that is not a VF.
 *
 * @kernel pci_iov_vf_id (drivers/pci/iov.c)
 */
export function pciIovVfId(vf: PciDev): number {
  if (!vf.isVirtfn || !vf.physfn?.sriov) return -Errno.EINVAL;
  const pf = vf.physfn;
  const s = pf.sriov!;
  return (pciDevId(vf) - (pciDevId(pf) + s.offset)) / s.stride;
}

/** `pci_iov_resource_size(pf, resno)`: per-VF size of the IOV resource `resno` (7..12). @kernel pci_iov_resource_size */
export function pciIovResourceSize(pf: PciDev, resno: number): number {
  if (!pf.sriov || resno < PCI_IOV_RESOURCES || resno >= PCI_IOV_RESOURCES + PCI_SRIOV_NUM_BARS) return 0;
  return pf.sriov.barsz[resno - PCI_IOV_RESOURCES] ?? 0;
}

/**
 * Where VF BAR `bar` of `vf` lives inside its PF: the PF's IOV resource
 * (`PCI_IOV_RESOURCES + bar`) holds every VF's copy of that BAR back to
 * back, VF `id` at `id * size`. This is the layout the SR-IOV "IOV"
 * interconnect relies on: the PF can translate a VF BAR range itself.
 * Returns null when `vf` is not a VF or the BAR is unused.
 *
 * @kernel pci_iov_add_virtfn (resource placement), pci_iov_resource_size
 */
export function pciVfBarInPf(
  vf: PciDev,
  bar: number,
): { pf: PciDev; resno: number; offset: number; size: number } | null {
  const id = pciIovVfId(vf);
  if (id < 0 || !vf.physfn) return null;
  const pf = vf.physfn;
  const resno = PCI_IOV_RESOURCES + bar;
  const size = pciIovResourceSize(pf, resno);
  if (size === 0) return null;
  return { pf, resno, offset: id * size, size };
}

/**
 * `pci_enable_sriov(pf, n)`: create `n` VFs. Each VF's routing id follows
 * offset/stride; each VF BAR is carved from the PF's IOV resource. VFs whose
 * bus number differs from the PF's sit on a virtual bus: the model keeps
 * them on the PF's bus object (their upstream bridge is the PF's anyway).
 * Returns 0, or `-EINVAL` (not SR-IOV capable, already enabled, too many).
 *
 * @kernel pci_enable_sriov, sriov_enable, pci_iov_add_virtfn (drivers/pci/iov.c)
 */
export function pciEnableSriov(pf: PciDev, n: number): number {
  const s = pf.sriov;
  if (!s || pf.isVirtfn) return -Errno.EINVAL;
  if (n === 0) return 0;
  if (s.numVFs !== 0 || n < 0 || n > s.totalVFs) return -Errno.EINVAL;
  for (let id = 0; id < n; id++) {
    const vf = new PciDev(pf.system, pf.bus, pciIovVirtfnBus(pf, id), pciIovVirtfnDevfn(pf, id), pf.vendor, s.vfDevice);
    vf.pcieType = PCI_EXP_TYPE_ENDPOINT;
    vf.isVirtfn = true;
    vf.physfn = pf;
    for (let i = 0; i < PCI_SRIOV_NUM_BARS; i++) {
      const res = pf.resource[PCI_IOV_RESOURCES + i]!;
      const size = s.barsz[i] ?? 0;
      if (!res.len || !size) continue;
      vf.resource[i] = { start: res.start + size * id, len: size, flags: res.flags, busStart: res.busStart + size * id };
    }
    s.virtfns.push(vf);
    pf.system.registerDevice(vf);
  }
  s.numVFs = n;
  return 0;
}

/**
 * `pci_disable_sriov(pf)`: remove every VF (their P2P state goes with them).
 *
 * @kernel pci_disable_sriov, sriov_disable, pci_iov_remove_virtfn
 */
export function pciDisableSriov(pf: PciDev): void {
  const s = pf.sriov;
  if (!s || s.numVFs === 0) return;
  for (const vf of s.virtfns) {
    vf.p2pdma = null;
    pf.system.unregisterDevice(vf);
  }
  s.virtfns.length = 0;
  s.numVFs = 0;
}

/** `pci_num_vf(pf)`. @kernel pci_num_vf */
export function pciNumVf(pdev: PciDev): number {
  return pciPhysfn(pdev) === pdev && pdev.sriov ? pdev.sriov.numVFs : 0;
}
