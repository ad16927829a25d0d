import { pciName } from './pci-dev.ts';
import type { PciDev } from './pci-dev.ts';

/** ACS Control register bits (`include/uapi/linux/pci_regs.h`). */
export const PCI_ACS_SV = 0x0001; // Source Validation
export const PCI_ACS_TB = 0x0002; // Translation Blocking
export const PCI_ACS_RR = 0x0004; // P2P Request Redirect
export const PCI_ACS_CR = 0x0008; // P2P Completion Redirect
export const PCI_ACS_UF = 0x0010; // Upstream Forwarding
export const PCI_ACS_EC = 0x0020; // P2P Egress Control
export const PCI_ACS_DT = 0x0040; // Direct Translated P2P

/** The bits that force peer-to-peer TLPs upstream (what `pci=disable_acs_redir=` clears). */
export const PCI_ACS_REDIR_BITS = PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_EC;

/** Config-space offset the model gives an ACS extended capability (any non-zero value means "present"). */
export const ACS_CAP_OFFSET = 0x148;

/**
 * Give a function an ACS capability with control register `ctrl` (what
 * firmware or `pci_enable_acs` leaves there), or remove it with `null`.
 *
 * @kernel pci_enable_acs, pdev->acs_cap
 */
export function pciSetAcs(pdev: PciDev, ctrl: number | null): void {
  if (ctrl === null) {
    pdev.acsCap = 0;
    pdev.acsCtrl = 0;
    return;
  }
  pdev.acsCap = ACS_CAP_OFFSET;
  pdev.acsCtrl = ctrl & 0x7f;
}

/**
 * `pci_bridge_has_acs_redir`: true when the function has an ACS capability
 * whose control register redirects P2P requests or completions upstream, or
 * applies egress control. A function without the capability never redirects.
 *
 * @kernel pci_bridge_has_acs_redir (drivers/pci/p2pdma.c)
 */
export function pciBridgeHasAcsRedir(pdev: PciDev): boolean {
  if (!pdev.acsCap) return false;
  return (pdev.acsCtrl & PCI_ACS_REDIR_BITS) !== 0;
}

/**
 * `pci=disable_acs_redir=<bdf>;<bdf>...`: clear the redirect bits on the
 * named functions (the kernel does it at enumeration; the model does it when
 * called). Returns the names that matched.
 *
 * @kernel pci_disable_acs_redir (drivers/pci/pci.c)
 */
export function pciDisableAcsRedir(devices: readonly PciDev[], param: string): string[] {
  const wanted = new Set(param.split(';').map((s) => s.trim()).filter((s) => s.length > 0));
  const hit: string[] = [];
  for (const d of devices) {
    if (!wanted.has(pciName(d)) || !d.acsCap) continue;
    d.acsCtrl &= ~PCI_ACS_REDIR_BITS;
    hit.push(pciName(d));
  }
  return hit;
}
