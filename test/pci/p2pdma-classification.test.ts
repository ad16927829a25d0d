import { describe, expect, it } from 'vitest';
import {
  Device,
  PCI_ACS_EC,
  PCI_ACS_RR,
  PCI_ACS_SV,
  PCI_P2PDMA_MAP_BUS_ADDR,
  PCI_P2PDMA_MAP_NOT_SUPPORTED,
  PCI_P2PDMA_MAP_THRU_HOST_BRIDGE,
  PciSystem,
  calcMapTypeAndDist,
  pciBusAddress,
  pciDisableAcsRedir,
  pciP2pdmaBusAddrMap,
  pciP2pdmaDistance,
  pciP2pdmaDistanceMany,
  pciP2pdmaMapType,
  pciP2pdmaRelease,
  pciResourceStart,
  pciSetAcs,
  pciUpstreamBridge,
  pcimP2pdmaInit,
  pcimP2pdmaProvider,
} from '../../src/pci/index.ts';
import type { P2pdmaProvider, PciDev } from '../../src/pci/index.ts';
import { ACS_REDIR, E5, SKX, UNLISTED, switchRig } from './fixtures.ts';

function provider(pdev: PciDev, bar = 0): P2pdmaProvider {
  expect(pcimP2pdmaInit(pdev)).toBe(0);
  const p = pcimP2pdmaProvider(pdev, bar);
  expect(p).not.toBeNull();
  return p!;
}

describe('two endpoints below one switch', () => {
  it('is BUS_ADDR at distance 4 without ACS, and a peer uses phys + bus_offset', () => {
    const { a, b } = switchRig();
    const p = provider(a);
    expect(pciP2pdmaMapType(p, b)).toBe(PCI_P2PDMA_MAP_BUS_ADDR);
    expect(pciP2pdmaDistance(a, b)).toBe(4);
    expect(p.busOffset).toBe(pciBusAddress(a, 0) - pciResourceStart(a, 0));
    expect(p.busOffset).toBe(0x10_0000_0000 - 0x40_0000_0000);
    const phys = pciResourceStart(a, 0) + 0x2000;
    expect(pciP2pdmaBusAddrMap(p, phys)).toBe(pciBusAddress(a, 0) + 0x2000);
  });

  it('is symmetric in distance and walks the expected path', () => {
    const { a, b, sw, rp } = switchRig();
    expect(pciUpstreamBridge(a)).toBe(sw.downstream[0]);
    expect(pciUpstreamBridge(sw.downstream[0]!)).toBe(sw.upstream);
    expect(pciUpstreamBridge(sw.upstream)).toBe(rp);
    expect(pciUpstreamBridge(rp)).toBeNull();
    expect(calcMapTypeAndDist(b, a, false).distance).toBe(4);
  });

  for (const [where, idx] of [
    ['provider-side', 0],
    ['client-side', 1],
  ] as const) {
    it(`with ACS redirect on the ${where} downstream port: THRU_HOST_BRIDGE when allow-listed, else NOT_SUPPORTED`, () => {
      const acs: [number | null, number | null] = idx === 0 ? [ACS_REDIR, null] : [null, ACS_REDIR];
      const listed = switchRig({ dsAcs: acs });
      expect(pciP2pdmaMapType(provider(listed.a), listed.b)).toBe(PCI_P2PDMA_MAP_THRU_HOST_BRIDGE);
      expect(pciP2pdmaDistance(listed.a, listed.b)).toBe(4);
      const unlisted = switchRig({ dsAcs: acs, host: UNLISTED });
      expect(pciP2pdmaMapType(provider(unlisted.a), unlisted.b)).toBe(PCI_P2PDMA_MAP_NOT_SUPPORTED);
      expect(pciP2pdmaDistance(unlisted.a, unlisted.b)).toBe(-1);
      expect(unlisted.sys.messages.some((m) => m.includes('Host bridge not in P2PDMA whitelist: 8086:1234'))).toBe(true);
    });
  }

  it('counts each redirect bit (RR, CR, EC) but not other ACS bits', () => {
    for (const bit of [PCI_ACS_RR, ACS_REDIR, PCI_ACS_EC]) {
      const r = switchRig({ dsAcs: [bit, null], host: UNLISTED });
      expect(calcMapTypeAndDist(r.a, r.b, false).mapType).toBe(PCI_P2PDMA_MAP_NOT_SUPPORTED);
    }
    const sv = switchRig({ dsAcs: [PCI_ACS_SV, PCI_ACS_SV], host: UNLISTED });
    expect(calcMapTypeAndDist(sv.a, sv.b, false).mapType).toBe(PCI_P2PDMA_MAP_BUS_ADDR);
  });

  it('counts ACS on the common upstream port (seen on the provider-side walk)', () => {
    const r = switchRig({ host: UNLISTED });
    pciSetAcs(r.sw.upstream, ACS_REDIR);
    expect(calcMapTypeAndDist(r.a, r.b, false).mapType).toBe(PCI_P2PDMA_MAP_NOT_SUPPORTED);
    // ACS above the common bridge (the root port) is off the path.
    const r2 = switchRig({ host: UNLISTED });
    pciSetAcs(r2.rp, ACS_REDIR);
    expect(calcMapTypeAndDist(r2.a, r2.b, false).mapType).toBe(PCI_P2PDMA_MAP_BUS_ADDR);
  });

  it('names the redirecting ports in the disable_acs_redir hint, and clearing them restores BUS_ADDR', () => {
    const r = switchRig({ dsAcs: [ACS_REDIR, ACS_REDIR] });
    const res = calcMapTypeAndDist(r.a, r.b, true);
    expect(res.mapType).toBe(PCI_P2PDMA_MAP_THRU_HOST_BRIDGE);
    const hint = r.sys.messages.find((m) => m.includes('pci=disable_acs_redir='))!;
    const list = `${r.sw.downstream[0]!.name};${r.sw.downstream[1]!.name}`;
    expect(hint).toContain(`pci=disable_acs_redir=${list}`);
    expect(pciDisableAcsRedir(r.sys.devices, list)).toEqual([r.sw.downstream[0]!.name, r.sw.downstream[1]!.name]);
    expect(calcMapTypeAndDist(r.a, r.b, false).mapType).toBe(PCI_P2PDMA_MAP_BUS_ADDR);
  });
});

describe('endpoints below different root ports or host bridges', () => {
  function twoRootPorts(host: { vendor: number; device: number } | null) {
    const sys = new PciSystem();
    const hb = sys.addHostBridge({ hostBridgeDevice: host });
    const a = sys.addEndpoint(sys.addRootPort(hb), { bars: [{ size: 0x10000 }] });
    const b = sys.addEndpoint(sys.addRootPort(hb), { bars: [{ size: 0x10000 }] });
    return { sys, a, b };
  }

  it('same allow-listed host bridge: THRU_HOST_BRIDGE, distance = both full paths', () => {
    for (const host of [SKX, E5]) {
      const { a, b } = twoRootPorts(host);
      expect(pciP2pdmaMapType(provider(a), b)).toBe(PCI_P2PDMA_MAP_THRU_HOST_BRIDGE);
      expect(pciP2pdmaDistance(a, b)).toBe(4);
    }
  });

  it('same host bridge not on the list: NOT_SUPPORTED with the kernel warning', () => {
    const { sys, a, b } = twoRootPorts(UNLISTED);
    expect(pciP2pdmaMapType(provider(a), b)).toBe(PCI_P2PDMA_MAP_NOT_SUPPORTED);
    expect(sys.messages.some((m) => m.includes('do not share an upstream bridge or whitelisted host bridge'))).toBe(true);
  });

  it('without a 00.0 host bridge function the first root port is the allow-list key (Skylake)', () => {
    const sys = new PciSystem();
    const hb = sys.addHostBridge({ hostBridgeDevice: null });
    const rp0 = sys.addRootPort(hb, { ...SKX });
    const a = sys.addEndpoint(rp0, { bars: [{ size: 0x10000 }] });
    const b = sys.addEndpoint(sys.addRootPort(hb, { ...SKX }), {});
    expect(calcMapTypeAndDist(a, b, false).mapType).toBe(PCI_P2PDMA_MAP_THRU_HOST_BRIDGE);
  });

  function twoHostBridges(host: { vendor: number; device: number }, cpu?: { vendor: 'amd'; family: number }) {
    const sys = new PciSystem(cpu ? { cpu } : {});
    const h0 = sys.addHostBridge({ hostBridgeDevice: host });
    const h1 = sys.addHostBridge({ hostBridgeDevice: host });
    const a = sys.addEndpoint(sys.addRootPort(h0), { bars: [{ size: 0x10000 }] });
    const b = sys.addEndpoint(sys.addRootPort(h1), {});
    return { sys, a, b };
  }

  it('two host bridges with a same-host-bridge-only entry: NOT_SUPPORTED', () => {
    const { a, b } = twoHostBridges(E5);
    expect(pciP2pdmaMapType(provider(a), b)).toBe(PCI_P2PDMA_MAP_NOT_SUPPORTED);
    expect(pciP2pdmaDistance(a, b)).toBe(-1);
  });

  it('two host bridges both listed without the restriction: THRU_HOST_BRIDGE', () => {
    const { a, b } = twoHostBridges(SKX);
    expect(pciP2pdmaMapType(provider(a), b)).toBe(PCI_P2PDMA_MAP_THRU_HOST_BRIDGE);
  });

  it('an AMD Zen CPU allows P2P through any host bridge', () => {
    const { a, b } = twoHostBridges(UNLISTED, { vendor: 'amd', family: 0x19 });
    expect(calcMapTypeAndDist(a, b, false).mapType).toBe(PCI_P2PDMA_MAP_THRU_HOST_BRIDGE);
    const old = twoHostBridges(UNLISTED, { vendor: 'amd', family: 0x15 });
    expect(calcMapTypeAndDist(old.a, old.b, false).mapType).toBe(PCI_P2PDMA_MAP_NOT_SUPPORTED);
  });
});

describe('same device, functions and non-PCI clients', () => {
  it('provider and client the same function: BUS_ADDR, distance 0', () => {
    const { a } = switchRig();
    expect(pciP2pdmaMapType(provider(a), a)).toBe(PCI_P2PDMA_MAP_BUS_ADDR);
    expect(pciP2pdmaDistance(a, a)).toBe(0);
  });

  it('two functions of one device: BUS_ADDR, distance 2', () => {
    const { sys, sw, a } = switchRig({ host: UNLISTED });
    const a1 = sys.addEndpoint(sw.downstream[0]!, { slot: 0, fn: 1 });
    expect(a.functions()).toEqual([a, a1]);
    expect(pciP2pdmaMapType(provider(a), a1)).toBe(PCI_P2PDMA_MAP_BUS_ADDR);
    expect(pciP2pdmaDistance(a, a1)).toBe(2);
  });

  it('a client that is not a PCI device: NOT_SUPPORTED (map type) and -1 (distance)', () => {
    const { a } = switchRig();
    const npu = new Device('npu0');
    expect(pciP2pdmaMapType(provider(a), npu)).toBe(PCI_P2PDMA_MAP_NOT_SUPPORTED);
    expect(pciP2pdmaDistance(a, npu)).toBe(-1);
  });

  it('a child device of a PCI function: map-type API refuses, distance API walks to the parent', () => {
    const { a, b } = switchRig();
    const child = new Device('ib0', b);
    expect(pciP2pdmaMapType(provider(a), child)).toBe(PCI_P2PDMA_MAP_NOT_SUPPORTED);
    expect(pciP2pdmaDistance(a, child)).toBe(4);
  });

  it('distance_many sums the clients and is -1 if any is unsupported or none is given', () => {
    const { a, b, sw, sys } = switchRig();
    const c = sys.addEndpoint(sw.downstream[1]!, { slot: 0, fn: 1 });
    expect(pciP2pdmaDistanceMany(a, [a, b, c])).toBe(0 + 4 + 4);
    expect(pciP2pdmaDistanceMany(a, [b, new Device('x')])).toBe(-1);
    expect(pciP2pdmaDistanceMany(a, [])).toBe(-1);
  });
});

describe('classification cache and provider lifetime', () => {
  it('caches the map type per client; the distance API recomputes and refreshes it', () => {
    const r = switchRig({ host: UNLISTED });
    const p = provider(r.a);
    expect(pciP2pdmaMapType(p, r.b)).toBe(PCI_P2PDMA_MAP_BUS_ADDR);
    pciSetAcs(r.sw.downstream[1]!, ACS_REDIR);
    // As in the kernel, the cached answer stands until something recomputes it.
    expect(pciP2pdmaMapType(p, r.b)).toBe(PCI_P2PDMA_MAP_BUS_ADDR);
    expect(pciP2pdmaDistance(r.a, r.b)).toBe(-1);
    expect(pciP2pdmaMapType(p, r.b)).toBe(PCI_P2PDMA_MAP_NOT_SUPPORTED);
  });

  it('a provider whose driver unbound is NOT_SUPPORTED', () => {
    const r = switchRig();
    const p = provider(r.a);
    pciP2pdmaRelease(r.a);
    expect(pciP2pdmaMapType(p, r.b)).toBe(PCI_P2PDMA_MAP_NOT_SUPPORTED);
  });
});
