import { describe, expect, it } from 'vitest';
import { Errno } from '../../src/kernel/index.ts';
import {
  PCI_IOV_RESOURCES,
  PCI_P2PDMA_MAP_BUS_ADDR,
  PCI_P2PDMA_MAP_NOT_SUPPORTED,
  PciSystem,
  calcMapTypeAndDist,
  pciDisableSriov,
  pciEnableSriov,
  pciIovVfId,
  pciP2pdmaDistance,
  pciP2pdmaMapType,
  pciPhysfn,
  pciResourceLen,
  pciResourceStart,
  pciSetAcs,
  pciUpstreamBridge,
  pciVfBarInPf,
  pcimP2pdmaInit,
  pcimP2pdmaProvider,
} from '../../src/pci/index.ts';
import { ACS_REDIR, UNLISTED } from './fixtures.ts';

function gpuWithVfs(n: number, opts: { offset?: number; stride?: number; devfnFn?: number } = {}) {
  const sys = new PciSystem();
  const hb = sys.addHostBridge({ hostBridgeDevice: UNLISTED });
  const rp = sys.addRootPort(hb);
  const sw = sys.addSwitch(rp, { downstreamPorts: 2 });
  const pf = sys.addEndpoint(sw.downstream[0]!, {
    vendor: 0x8086,
    device: 0x56c0,
    bars: [{ size: 0x100_0000 }, null, { size: 0x4000_0000, mem64: true }],
    sriov: {
      totalVFs: 8,
      vfDevice: 0x56c1,
      offset: opts.offset ?? 1,
      stride: opts.stride ?? 1,
      bars: [{ size: 0x10_0000 }, null, { size: 0x1000_0000, mem64: true }],
    },
  });
  const nic = sys.addEndpoint(sw.downstream[1]!, { bars: [{ size: 0x10000 }] });
  expect(pciEnableSriov(pf, n)).toBe(0);
  return { sys, rp, sw, pf, nic, vfs: pf.sriov!.virtfns };
}

describe('SR-IOV', () => {
  it('creates VFs with routing ids from offset/stride, physfn and their own device id', () => {
    const { pf, vfs } = gpuWithVfs(3, { offset: 8, stride: 2 });
    expect(vfs.map((v) => v.name)).toEqual(['0000:03:01.0', '0000:03:01.2', '0000:03:01.4']);
    expect(vfs.map((v) => pciIovVfId(v))).toEqual([0, 1, 2]);
    expect(vfs.every((v) => v.isVirtfn && pciPhysfn(v) === pf && v.device === 0x56c1)).toBe(true);
    expect(pciIovVfId(pf)).toBe(-Errno.EINVAL);
    expect(pciPhysfn(pf)).toBe(pf);
  });

  it('carves each VF BAR from the PF IOV resource, VF i at i * size', () => {
    const { pf, vfs } = gpuWithVfs(4);
    const iov2 = pciResourceStart(pf, PCI_IOV_RESOURCES + 2);
    expect(pciResourceLen(pf, PCI_IOV_RESOURCES + 2)).toBe(8 * 0x1000_0000);
    vfs.forEach((vf, i) => {
      expect(pciResourceStart(vf, 2)).toBe(iov2 + i * 0x1000_0000);
      expect(pciResourceLen(vf, 2)).toBe(0x1000_0000);
      expect(pciVfBarInPf(vf, 2)).toEqual({ pf, resno: PCI_IOV_RESOURCES + 2, offset: i * 0x1000_0000, size: 0x1000_0000 });
    });
    expect(pciVfBarInPf(vfs[0]!, 1)).toBeNull();
    expect(pciVfBarInPf(pf, 0)).toBeNull();
  });

  it('VF traffic routes through the PF upstream bridge: VF→PF is BUS_ADDR at distance 2', () => {
    const { pf, vfs, sw, nic } = gpuWithVfs(2);
    const vf = vfs[1]!;
    expect(pciUpstreamBridge(vf)).toBe(sw.downstream[0]);
    expect(pcimP2pdmaInit(vf)).toBe(0);
    const p = pcimP2pdmaProvider(vf, 2)!;
    expect(pciP2pdmaMapType(p, pf)).toBe(PCI_P2PDMA_MAP_BUS_ADDR);
    expect(pciP2pdmaDistance(vf, pf)).toBe(2);
    expect(pciP2pdmaDistance(vf, vfs[0]!)).toBe(2);
    expect(pciP2pdmaDistance(vf, vf)).toBe(0);
    expect(pciP2pdmaDistance(vf, nic)).toBe(4);
  });

  it('ACS on the PF downstream port counts for VF↔NIC and, as the kernel walks it, even for VF↔PF', () => {
    const { pf, vfs, sw, nic } = gpuWithVfs(1);
    expect(calcMapTypeAndDist(vfs[0]!, pf, false).mapType).toBe(PCI_P2PDMA_MAP_BUS_ADDR);
    pciSetAcs(sw.downstream[0]!, ACS_REDIR);
    expect(calcMapTypeAndDist(vfs[0]!, nic, false).mapType).toBe(PCI_P2PDMA_MAP_NOT_SUPPORTED);
    // The downstream port is the common bridge, seen on the provider-side walk.
    expect(calcMapTypeAndDist(vfs[0]!, pf, false).mapType).toBe(PCI_P2PDMA_MAP_NOT_SUPPORTED);
    // ACS on the switch upstream port is above the common bridge of VF and PF.
    pciSetAcs(sw.downstream[0]!, null);
    pciSetAcs(sw.upstream, ACS_REDIR);
    expect(calcMapTypeAndDist(vfs[0]!, pf, false).mapType).toBe(PCI_P2PDMA_MAP_BUS_ADDR);
  });

  it('refuses enabling twice or beyond TotalVFs, and disabling removes the VFs', () => {
    const { sys, pf } = gpuWithVfs(2);
    expect(pciEnableSriov(pf, 1)).toBe(-Errno.EINVAL);
    pciDisableSriov(pf);
    expect(sys.devices.some((d) => d.isVirtfn)).toBe(false);
    expect(pciEnableSriov(pf, 9)).toBe(-Errno.EINVAL);
    expect(pciEnableSriov(pf, 8)).toBe(0);
    expect(pf.sriov!.virtfns).toHaveLength(8);
  });
});
