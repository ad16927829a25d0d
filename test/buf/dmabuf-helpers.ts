import { Errno } from '../../src/kernel/index.ts';
import type { Kernel } from '../../src/kernel/index.ts';
import { dmaBufExport, sgAllocTable, sgFreeTable } from '../../src/buf/index.ts';
import type {
  DmaBuf,
  DmaBufAttachOps,
  DmaBufAttachment,
  DmaBufOps,
  SgTable,
} from '../../src/buf/index.ts';
import { Device } from '../../src/pci/index.ts';

/** Counters of a test exporter. */
export interface ExporterStats {
  attach: number;
  detach: number;
  pin: number;
  unpin: number;
  map: number;
  unmap: number;
  release: number;
  live: Set<SgTable>;
}

export interface TestExporterOptions {
  /** Implement pin/unpin (a dynamic exporter). */
  dynamic?: boolean;
  /** Result of the exporter's attach. */
  attachResult?: number;
  /** Extra or replacement ops. */
  ops?: Partial<DmaBufOps>;
  size?: number;
}

/** A legacy exporter handing out one-entry tables, counting every call. */
export function testExporter(
  k: Kernel,
  opts: TestExporterOptions = {},
): { dmabuf: DmaBuf; stats: ExporterStats } {
  const stats: ExporterStats = {
    attach: 0,
    detach: 0,
    pin: 0,
    unpin: 0,
    map: 0,
    unmap: 0,
    release: 0,
    live: new Set(),
  };
  const ops: DmaBufOps = {
    attach: () => {
      stats.attach++;
      return opts.attachResult ?? 0;
    },
    detach: () => {
      stats.detach++;
    },
    mapDmaBuf: () => {
      stats.map++;
      const t = sgAllocTable(1);
      if (typeof t === 'number') return t;
      stats.live.add(t);
      return t;
    },
    unmapDmaBuf: (_a, sgt) => {
      stats.unmap++;
      stats.live.delete(sgt);
      sgFreeTable(sgt);
    },
    release: () => {
      stats.release++;
    },
    ...(opts.dynamic
      ? {
          pin: () => {
            stats.pin++;
            return 0;
          },
          unpin: () => {
            stats.unpin++;
          },
        }
      : {}),
    ...opts.ops,
  };
  const dmabuf = dmaBufExport(k, {
    expName: 'test-exporter',
    ops,
    size: opts.size ?? 0x10000,
    priv: stats,
  });
  if (typeof dmabuf === 'number') throw new Error(`export failed: ${dmabuf}`);
  return { dmabuf, stats };
}

/** A dynamic importer that counts invalidations and optionally unmaps right away. */
export function testImporter(
  opts: { p2p?: boolean; onMove?: (a: DmaBufAttachment) => void | Promise<void> } = {},
): DmaBufAttachOps & { moves: number } {
  const imp = {
    allowPeer2peer: opts.p2p ?? false,
    moves: 0,
    async moveNotify(a: DmaBufAttachment) {
      imp.moves++;
      await opts.onMove?.(a);
    },
  };
  return imp;
}

export function dev(name = 'importer'): Device {
  return new Device(name);
}

export const ENODEV = -Errno.ENODEV;
export const EINVAL = -Errno.EINVAL;
