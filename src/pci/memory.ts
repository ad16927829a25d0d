import type { P2pPagemap } from './structs.ts';

/** `PAGE_SHIFT`: the model uses 4 KiB pages, as x86-64 and most arm64 configurations. */
export const PAGE_SHIFT = 12;
/** `PAGE_SIZE`. */
export const PAGE_SIZE = 1 << PAGE_SHIFT;

/** `PAGE_ALIGN(x)`: round up to a page boundary. @kernel PAGE_ALIGN */
export function pageAlign(x: number): number {
  return Math.ceil(x / PAGE_SIZE) * PAGE_SIZE;
}

/** `PAGE_ALIGNED(x)`. @kernel PAGE_ALIGNED */
export function pageAligned(x: number): boolean {
  return x % PAGE_SIZE === 0;
}

/** `PHYS_PFN(phys)`. @kernel PHYS_PFN */
export function physPfn(phys: number): number {
  return Math.floor(phys / PAGE_SIZE);
}

/** `PFN_PHYS(pfn)`. @kernel PFN_PHYS */
export function pfnPhys(pfn: number): number {
  return pfn * PAGE_SIZE;
}

/**
 * `struct page`, reduced to what buffer sharing looks at: the page frame
 * number and, for ZONE_DEVICE pages of a peer-to-peer provider, the
 * `dev_pagemap` they belong to (`page_pgmap`). System RAM pages have no
 * pgmap. Physical addresses are JavaScript numbers, exact below 2^53.
 *
 * @kernel struct page, page_to_pfn, page_pgmap, is_pci_p2pdma_page
 */
export interface Page {
  readonly pfn: number;
  readonly pgmap: P2pPagemap | null;
}

/**
 * A system-RAM page (no pgmap) with frame number `pfn`. `pfn_to_page`.
 *
 * @kernel pfn_to_page
 */
export function pfnToPage(pfn: number): Page {
  return { pfn, pgmap: null };
}

/** `page_to_phys`. @kernel page_to_phys */
export function pageToPhys(page: Page): number {
  return page.pfn * PAGE_SIZE;
}

/**
 * `zone_device_pages_have_same_pgmap`: two pages may share an sg entry only
 * if both are ordinary RAM or both belong to the same device pagemap.
 *
 * @kernel zone_device_pages_have_same_pgmap
 */
export function pagesHaveSamePgmap(a: Page, b: Page): boolean {
  return a.pgmap === b.pgmap;
}

/** `is_pci_p2pdma_page`. @kernel is_pci_p2pdma_page */
export function isPciP2pdmaPage(page: Page | null): boolean {
  return page?.pgmap != null;
}
