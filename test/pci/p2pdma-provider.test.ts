import { describe, expect, it } from 'vitest';
import { Errno, Kernel } from '../../src/kernel/index.ts';
import {
  IORESOURCE_IO,
  IORESOURCE_MEM,
  IORESOURCE_MEM_64,
  PAGE_SIZE,
  PciSystem,
  p2pmemPages,
  pciAllocP2pmem,
  pciBusAddress,
  pciFreeP2pmem,
  pciHasP2pmem,
  pciP2pdmaAddResource,
  pciP2pmemFindMany,
  pciP2pmemPublish,
  pciP2pmemVirtToBus,
  pciResourceFlags,
  pciResourceLen,
  pciResourceStart,
  pcimP2pdmaInit,
  pcimP2pdmaProvider,
} from '../../src/pci/index.ts';
import { switchRig } from './fixtures.ts';

describe('enumeration', () => {
  it('numbers buses in creation order and names functions dddd:bb:ss.f', () => {
    const { a, b, rp, sw, hb } = switchRig();
    expect(hb.bus.number).toBe(0);
    expect(rp.name).toBe('0000:00:01.0');
    expect(sw.upstream.name).toBe('0000:01:00.0');
    expect(sw.downstream.map((d) => d.name)).toEqual(['0000:02:00.0', '0000:02:01.0']);
    expect(a.name).toBe('0000:03:00.0');
    expect(b.name).toBe('0000:04:00.0');
    expect(a.parent).toBe(sw.downstream[0]);
  });

  it('lays out BARs: 64-bit BAR takes two slots, I/O BARs are not memory, addresses are size-aligned', () => {
    const { a } = switchRig();
    expect(pciResourceFlags(a, 0) & (IORESOURCE_MEM | IORESOURCE_MEM_64)).toBe(IORESOURCE_MEM | IORESOURCE_MEM_64);
    expect(pciResourceLen(a, 1)).toBe(0);
    expect(pciResourceFlags(a, 4)).toBe(IORESOURCE_IO);
    expect(pciResourceStart(a, 0) % 0x100_0000).toBe(0);
    expect(pciBusAddress(a, 2) - pciResourceStart(a, 2)).toBe(0x10_0000_0000 - 0x40_0000_0000);
  });

  it('refuses BAR sizes that are not powers of two', () => {
    const sys = new PciSystem();
    const rp = sys.addRootPort(sys.addHostBridge());
    expect(() => sys.addEndpoint(rp, { bars: [{ size: 0x3000 }] })).toThrow(/power of two/);
  });
});

describe('providers (pcim_p2pdma_init / pcim_p2pdma_provider)', () => {
  it('creates one provider per memory BAR and none for I/O or empty BARs', () => {
    const { a } = switchRig();
    expect(pcimP2pdmaInit(a)).toBe(0);
    expect(pcimP2pdmaInit(a)).toBe(0);
    expect(pcimP2pdmaProvider(a, 0)?.owner).toBe(a);
    expect(pcimP2pdmaProvider(a, 2)?.bar).toBe(2);
    expect(pcimP2pdmaProvider(a, 1)).toBeNull();
    expect(pcimP2pdmaProvider(a, 4)).toBeNull();
    expect(a.bar(0)).toMatchObject({ len: 0x100_0000, busOffset: 0x10_0000_0000 - 0x40_0000_0000, p2pProvider: pcimP2pdmaProvider(a, 0) });
    expect(a.bar(1)).toBeNull();
    expect(a.bar(4)?.p2pProvider).toBeNull();
  });

  it('refuses devices with non-mappable BARs', () => {
    const sys = new PciSystem();
    const d = sys.addEndpoint(sys.addRootPort(sys.addHostBridge()), { bars: [{ size: 0x1000 }], nonMappableBars: true });
    expect(pcimP2pdmaInit(d)).toBe(-Errno.EOPNOTSUPP);
    expect(pcimP2pdmaProvider(d, 0)).toBeNull();
  });

  it('WARNs when a provider is asked for before init (a splat when the system has a kernel)', () => {
    const k = new Kernel();
    const sys = new PciSystem({ kernel: k });
    const d = sys.addEndpoint(sys.addRootPort(sys.addHostBridge()), { bars: [{ size: 0x1000 }] });
    expect(pcimP2pdmaProvider(d, 0)).toBeNull();
    expect(k.splats.map((s) => s.rule)).toEqual(['pci.p2pdma_warn']);
  });
});

describe('p2pmem (pci_p2pdma_add_resource and the pool)', () => {
  it('validates the BAR range', () => {
    const { a } = switchRig();
    expect(pciP2pdmaAddResource(a, 4)).toBe(-Errno.EINVAL);
    expect(pciP2pdmaAddResource(a, 0, 0, 0x100_0000)).toBe(-Errno.EINVAL);
    expect(pciP2pdmaAddResource(a, 0, 0x100_0000, 0x1000)).toBe(-Errno.EINVAL);
    expect(pciP2pdmaAddResource(a, 0, 0, 0x80_0000)).toBe(0);
  });

  it('allocates first-fit with ZONE_DEVICE pages and bus addresses, and merges on free', () => {
    const { a } = switchRig();
    expect(pciP2pdmaAddResource(a, 0, 0x10000)).toBe(0);
    const m1 = pciAllocP2pmem(a, 0x3000)!;
    const m2 = pciAllocP2pmem(a, 100)!;
    expect(m1.phys).toBe(pciResourceStart(a, 0));
    expect(m2.phys).toBe(m1.phys + 0x3000);
    expect(m2.size).toBe(PAGE_SIZE);
    expect(pciP2pmemVirtToBus(a, m2.phys)).toBe(pciBusAddress(a, 0) + 0x3000);
    const pages = p2pmemPages(m1);
    expect(pages.map((p) => p.pfn)).toEqual([0, 1, 2].map((i) => m1.phys / PAGE_SIZE + i));
    expect(pages.every((p) => p.pgmap === m1.pgmap && p.pgmap.provider === pcimP2pdmaProvider(a, 0))).toBe(true);
    expect(pciAllocP2pmem(a, 0x10000)).toBeNull();
    pciFreeP2pmem(m1);
    pciFreeP2pmem(m2);
    expect(pciAllocP2pmem(a, 0x10000)?.phys).toBe(pciResourceStart(a, 0));
  });

  it('find_many picks the published provider closest to the clients', () => {
    const { sys, sw, a, b } = switchRig();
    const far = sys.addEndpoint(sys.addRootPort(sys.hostBridges[0]!), { bars: [{ size: 0x10000 }] });
    for (const d of [a, far]) {
      expect(pciP2pdmaAddResource(d, 0)).toBe(0);
    }
    expect(pciP2pmemFindMany(sys.devices, [b])).toBeNull();
    pciP2pmemPublish(far, true);
    expect(pciHasP2pmem(far)).toBe(true);
    expect(pciP2pmemFindMany(sys.devices, [b])).toBe(far);
    pciP2pmemPublish(a, true);
    expect(pciP2pmemFindMany(sys.devices, [b])).toBe(a);
    const c = sys.addEndpoint(sw.downstream[0]!, { slot: 0, fn: 1 });
    expect(pciP2pmemFindMany(sys.devices, [c, b])).toBe(a);
  });
});
