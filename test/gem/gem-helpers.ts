import type { Kernel } from '../../src/kernel/index.ts';
import { Device, PAGE_SIZE, pfnToPage } from '../../src/pci/index.ts';
import { sgAllocTable, sgSetPage } from '../../src/buf/index.ts';
import type { SgTable } from '../../src/buf/index.ts';
import { DrmDevice, DrmGemObject } from '../../src/gem/index.ts';
import type { DrmGemObjectFuncs, DrmGemObjectInit } from '../../src/gem/index.ts';

/** Objects whose pages are `size / PAGE_SIZE` consecutive frames from a per-object base. */
export const shmemFuncs: DrmGemObjectFuncs = {
  getSgTable(obj) {
    const t = sgAllocTable(1) as SgTable;
    sgSetPage(t.sgl[0]!, pfnToPage(0x10000 + obj.id * 256), obj.size, 0);
    return t;
  },
};

export function drmDevice(k: Kernel, name: string): DrmDevice {
  return new DrmDevice(k, name, new Device(`${name}-dma`));
}

export function bo(
  dev: DrmDevice,
  opts: DrmGemObjectInit = {},
  size = 4 * PAGE_SIZE,
): DrmGemObject {
  return new DrmGemObject(dev, size, shmemFuncs, opts);
}
