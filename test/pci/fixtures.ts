import { PCI_ACS_CR, PCI_ACS_RR, PciSystem, pciSetAcs } from '../../src/pci/index.ts';
import type { CpuInfo, PciDev, PciHostBridge, PciSwitch } from '../../src/pci/index.ts';

/** Skylake-E host bridge id (allow-listed, any host bridge). */
export const SKX = { vendor: 0x8086, device: 0x2030 };
/** Xeon E5 host bridge id (allow-listed, same host bridge only). */
export const E5 = { vendor: 0x8086, device: 0x3c00 };
/** A host bridge id that is not on the list. */
export const UNLISTED = { vendor: 0x8086, device: 0x1234 };

/** ACS redirect as Linux enables it on downstream ports when an IOMMU is on. */
export const ACS_REDIR = PCI_ACS_RR | PCI_ACS_CR;

export const BAR = { size: 0x100_0000, mem64: true, prefetch: true };

export interface SwitchRig {
  sys: PciSystem;
  hb: PciHostBridge;
  rp: PciDev;
  sw: PciSwitch;
  a: PciDev;
  b: PciDev;
}

/**
 * Root port → switch (2 downstream ports) → endpoint A (provider, 16 MiB
 * BAR0) and endpoint B (client). The host bridge window decodes CPU
 * addresses to bus addresses 0x30_0000_0000 lower, so bus offsets are
 * non-zero.
 */
export function switchRig(opts: { host?: { vendor: number; device: number } | null; cpu?: CpuInfo; dsAcs?: [number | null, number | null] } = {}): SwitchRig {
  const sys = new PciSystem(opts.cpu ? { cpu: opts.cpu } : {});
  const hb = sys.addHostBridge({
    hostBridgeDevice: opts.host === undefined ? SKX : opts.host,
    mmio: { cpuStart: 0x40_0000_0000, busStart: 0x10_0000_0000, size: 0x10_0000_0000 },
  });
  const rp = sys.addRootPort(hb);
  const sw = sys.addSwitch(rp, { downstreamPorts: 2 });
  const [acs0, acs1] = opts.dsAcs ?? [null, null];
  if (acs0 !== null) pciSetAcs(sw.downstream[0]!, acs0);
  if (acs1 !== null) pciSetAcs(sw.downstream[1]!, acs1);
  const a = sys.addEndpoint(sw.downstream[0]!, { vendor: 0x10de, device: 0x2330, bars: [BAR, null, { size: 0x1000 }, null, { size: 0x100, type: 'io' }] });
  const b = sys.addEndpoint(sw.downstream[1]!, { vendor: 0x15b3, device: 0x1021, bars: [{ size: 0x10_0000 }] });
  return { sys, hb, rp, sw, a, b };
}
