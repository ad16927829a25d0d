import { describe, expect, it } from 'vitest';
import { Errno } from '../../src/kernel/index.ts';
import type { Kernel } from '../../src/kernel/index.ts';
import { PciSystem, pciEnableSriov, pciResourceStart, Device } from '../../src/pci/index.ts';
import type { PciDev } from '../../src/pci/index.ts';
import {
  DMA_BUF_MAPPING_IOV,
  DMA_BUF_MAPPING_PAL,
  DMA_BUF_MAPPING_SGT,
  DmaBufAttachment,
  DmaBufMappingType,
  dmaBufEmappingIov,
  dmaBufEmappingPal,
  dmaBufEmappingSgt,
  dmaBufEmappingSgtP2p,
  dmaBufExport,
  dmaBufImappingIov,
  dmaBufImappingPal,
  dmaBufImappingSgt,
  dmaBufIovTranslate,
  dmaBufMatchMapping,
  sgAllocTable,
} from '../../src/buf/index.ts';
import type {
  DmaBuf,
  DmaBufExpMatch,
  DmaBufImpMatch,
  SgtExpOps,
  IovExpOps,
  DmaBufIovRanges,
} from '../../src/buf/index.ts';
import { checkedKernel, rules } from '../resv/helpers.ts';
import { testImporter } from './dmabuf-helpers.ts';

const SGT_OPS: SgtExpOps = { mapDmaBuf: () => sgAllocTable(1), unmapDmaBuf: () => {} };

/** PF with 2 VFs (VRAM BAR 2) and a NIC under one switch; a GPU under another, non allow-listed host bridge. */
function rig() {
  const sys = new PciSystem();
  const hb = sys.addHostBridge({ hostBridgeDevice: { vendor: 0x8086, device: 0x1234 } });
  const rp = sys.addRootPort(hb);
  const sw = sys.addSwitch(rp, { downstreamPorts: 2 });
  const pf = sys.addEndpoint(sw.downstream[0]!, {
    vendor: 0x8086,
    device: 0x56c0,
    bars: [{ size: 0x100_0000 }, null, { size: 0x4000_0000, mem64: true }],
    sriov: {
      totalVFs: 4,
      vfDevice: 0x56c1,
      bars: [{ size: 0x10_0000 }, null, { size: 0x1000_0000, mem64: true }],
    },
  });
  const nic = sys.addEndpoint(sw.downstream[1]!, { bars: [{ size: 0x10000 }] });
  expect(pciEnableSriov(pf, 2)).toBe(0);
  const hb2 = sys.addHostBridge({ hostBridgeDevice: { vendor: 0x8086, device: 0x1234 } });
  const far = sys.addEndpoint(sys.addRootPort(hb2), { bars: [{ size: 0x10000 }] });
  const [vf0, vf1] = pf.sriov!.virtfns as [PciDev, PciDev];
  return { pf, vf0, vf1, nic, far };
}

/** An exporter (vfio-pci on `vf`) offering `list` in priority order through matchMapping. */
function typedExporter(k: Kernel, list: (d: DmaBuf) => DmaBufExpMatch[]): DmaBuf {
  const d = dmaBufExport(k, {
    expName: 'vfio-pci',
    ops: { matchMapping: (args) => dmaBufMatchMapping(args, list(args.dmabuf)), release: () => {} },
    size: 0x20_0000,
    priv: {},
  });
  if (typeof d === 'number') throw new Error(`export ${d}`);
  return d;
}

function iovOps(vf: PciDev): IovExpOps {
  return {
    mapIov: (): DmaBufIovRanges => {
      const start = pciResourceStart(vf, 2) + 0x10_0000;
      return { vf, bar: 2, ranges: [{ start, end: start + 0x20_0000 - 1 }] };
    },
  };
}

type Case = {
  exp: (d: DmaBuf) => DmaBufExpMatch[];
  imp: DmaBufImpMatch[];
  want: string | number;
  expIndex?: number;
};

async function negotiate(k: Kernel, c: Case): Promise<DmaBufAttachment | number> {
  const d = typedExporter(k, c.exp);
  const a = await d.mappingAttach(c.imp, testImporter({ p2p: true }));
  if (typeof a !== 'number') await d.detach(a);
  d.put();
  return a;
}

describe('mapping-type negotiation (seed notes 1(e))', () => {
  it('resolves every pair of lists as the reviewed design says', async () => {
    const { pf, vf0, vf1, nic, far } = rig();
    const k = checkedKernel();
    const platform = new Device('platform-npu');
    const iov = (vf: PciDev, bar = 2) => dmaBufEmappingIov(iovOps(vf), vf, bar);
    const sgt = dmaBufEmappingSgt(SGT_OPS);
    const sgtP2p = (vf: PciDev) => dmaBufEmappingSgtP2p(SGT_OPS, vf);
    const A = new DmaBufMappingType<null, null, null>('type A');
    const B = new DmaBufMappingType<null, null, null>('type B');
    const hard = new DmaBufMappingType<null, null, null>('refusing type', {
      match: () => -Errno.EPERM,
    });
    const soft = new DmaBufMappingType<null, null, null>('declining type', {
      match: () => -Errno.EOPNOTSUPP,
    });
    const cases: [string, Case][] = [
      [
        '[IOV, SGT] x [SGT] → SGT',
        {
          exp: () => [iov(vf0), sgt],
          imp: [dmaBufImappingSgt(pf, false)],
          want: DMA_BUF_MAPPING_SGT.name,
          expIndex: 1,
        },
      ],
      [
        '[IOV, SGT] x [IOV(PF, 2), SGT] → IOV',
        {
          exp: () => [iov(vf0), sgt],
          imp: [dmaBufImappingIov(pf, 2), dmaBufImappingSgt(pf, false)],
          want: DMA_BUF_MAPPING_IOV.name,
          expIndex: 0,
        },
      ],
      [
        'IOV importer not the physfn → continues to SGT',
        {
          exp: () => [iov(vf0), sgt],
          imp: [dmaBufImappingIov(nic, 2), dmaBufImappingSgt(nic, false)],
          want: DMA_BUF_MAPPING_SGT.name,
        },
      ],
      [
        'IOV importer is a sibling VF → continues to SGT',
        {
          exp: () => [iov(vf0), sgt],
          imp: [dmaBufImappingIov(vf1, 2), dmaBufImappingSgt(vf1, false)],
          want: DMA_BUF_MAPPING_SGT.name,
        },
      ],
      [
        'IOV with a different BAR → continues to SGT',
        {
          exp: () => [iov(vf0, 2), sgt],
          imp: [dmaBufImappingIov(pf, 0), dmaBufImappingSgt(pf, false)],
          want: DMA_BUF_MAPPING_SGT.name,
        },
      ],
      [
        'IOV mismatch and nothing else → -EINVAL',
        { exp: () => [iov(vf0)], imp: [dmaBufImappingIov(pf, 0)], want: -Errno.EINVAL },
      ],
      [
        'a hard error aborts with that error',
        {
          exp: () => [hard.exporter(null, null), sgt],
          imp: [hard.importer(null), dmaBufImappingSgt(pf, false)],
          want: -Errno.EPERM,
        },
      ],
      [
        '"not supported" keeps searching',
        {
          exp: () => [soft.exporter(null, null), sgt],
          imp: [soft.importer(null), dmaBufImappingSgt(pf, false)],
          want: DMA_BUF_MAPPING_SGT.name,
        },
      ],
      [
        'no common type → -EINVAL',
        {
          exp: () => [dmaBufEmappingPal({ mapPhys: () => -Errno.EIO })],
          imp: [dmaBufImappingSgt(pf, true)],
          want: -Errno.EINVAL,
        },
      ],
      [
        'exporter priority [A, B] x [B, A] → A',
        {
          exp: () => [A.exporter(null, null), B.exporter(null, null)],
          imp: [B.importer(null), A.importer(null)],
          want: 'type A',
        },
      ],
      [
        'exporter priority [B, A] x [A, B] → B',
        {
          exp: () => [B.exporter(null, null), A.exporter(null, null)],
          imp: [A.importer(null), B.importer(null)],
          want: 'type B',
        },
      ],
      [
        'SGT P2P x importer refusing P2P → -EINVAL',
        { exp: () => [sgtP2p(vf0)], imp: [dmaBufImappingSgt(nic, false)], want: -Errno.EINVAL },
      ],
      [
        'SGT P2P x reachable importer accepting P2P → SGT',
        {
          exp: () => [sgtP2p(vf0)],
          imp: [dmaBufImappingSgt(nic, true)],
          want: DMA_BUF_MAPPING_SGT.name,
        },
      ],
      [
        'SGT P2P x unreachable importer (other host bridge) → -EINVAL',
        { exp: () => [sgtP2p(vf0)], imp: [dmaBufImappingSgt(far, true)], want: -Errno.EINVAL },
      ],
      [
        'SGT P2P x non-PCI importer → -EINVAL',
        { exp: () => [sgtP2p(vf0)], imp: [dmaBufImappingSgt(platform, true)], want: -Errno.EINVAL },
      ],
      [
        'SGT P2P first, plain SGT second, importer without P2P → the plain one',
        {
          exp: () => [sgtP2p(vf0), sgt],
          imp: [dmaBufImappingSgt(nic, false)],
          want: DMA_BUF_MAPPING_SGT.name,
          expIndex: 1,
        },
      ],
      [
        'PAL x PAL → PAL',
        {
          exp: () => [iov(vf0), dmaBufEmappingPal({ mapPhys: () => -Errno.EIO })],
          imp: [dmaBufImappingPal()],
          want: DMA_BUF_MAPPING_PAL.name,
        },
      ],
    ];
    const got: [string, string | number][] = [];
    k.kthreadRun('t', async () => {
      for (const [name, c] of cases) {
        const a = await negotiate(k, c);
        got.push([name, typeof a === 'number' ? a : a.mapType!.type.name]);
        if (typeof a !== 'number' && c.expIndex !== undefined)
          expect(a.mapType!.expIndex).toBe(c.expIndex);
      }
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(rules(r)).toEqual([]);
    expect(got).toEqual(cases.map(([name, c]) => [name, c.want]));
  });

  it('unaware importers and exporters keep working through the scatter-table path; legacy fields follow an SGT match', async () => {
    const { pf, vf0, nic } = rig();
    const k = checkedKernel();
    k.kthreadRun('t', async () => {
      // Unaware importer (plain dma_buf_attach) on an aware exporter.
      const aware = typedExporter(k, () => [
        dmaBufEmappingIov(iovOps(vf0), vf0, 2),
        dmaBufEmappingSgt(SGT_OPS),
      ]);
      const st = (await aware.attach(nic)) as DmaBufAttachment;
      expect(st.mapType!.type).toBe(DMA_BUF_MAPPING_SGT);
      expect(st.dev).toBe(nic);
      expect(st.peer2peer).toBe(false);
      const sgt = await st.mapAttachmentUnlocked(0);
      expect(typeof sgt).not.toBe('number');
      await st.unmapAttachmentUnlocked(sgt as never, 0);
      await aware.detach(st);
      // An IOV match leaves the legacy fields alone: there is no DMA device.
      const ic = (await aware.mappingAttach(
        [dmaBufImappingIov(pf, 2), dmaBufImappingSgt(pf, true)],
        testImporter({ p2p: true }),
      )) as DmaBufAttachment;
      expect(ic.mapType!.type).toBe(DMA_BUF_MAPPING_IOV);
      expect(ic.dev).toBeNull();
      await aware.resv.lock(null);
      const ranges = (await ic.iovMap()) as DmaBufIovRanges;
      expect(ranges.vf).toBe(vf0);
      expect(ranges.ranges).toHaveLength(1);
      // The scatter-table map is not the negotiated type.
      expect(await ic.mapAttachment(0)).toBe(-Errno.EINVAL);
      await ic.iovUnmap(ranges);
      aware.resv.unlock();
      await aware.detach(ic);
      aware.put();

      // Aware importer on an unaware (legacy) exporter: the compat SGT entry.
      let legacyMaps = 0;
      const legacy = dmaBufExport(k, {
        ops: {
          mapDmaBuf: () => (legacyMaps++, sgAllocTable(1)),
          unmapDmaBuf: () => {},
          release: () => {},
        },
        size: 4096,
        priv: {},
      }) as DmaBuf;
      const dy = (await legacy.mappingAttach(
        [dmaBufImappingIov(pf, 2), dmaBufImappingSgt(pf, true)],
        testImporter({ p2p: true }),
      )) as DmaBufAttachment;
      expect(dy.mapType!.type).toBe(DMA_BUF_MAPPING_SGT);
      expect(dy.dev).toBe(pf);
      expect(dy.peer2peer).toBe(true);
      await legacy.resv.lock(null);
      const t = await dy.mapAttachment(0);
      expect(legacyMaps).toBe(1);
      expect(await dy.iovMap()).toBe(-Errno.EOPNOTSUPP);
      await dy.unmapAttachment(t as never, 0);
      legacy.resv.unlock();
      await legacy.detach(dy);

      // Typed maps need a dynamic attachment.
      const pal = typedExporter(k, () => [dmaBufEmappingPal({ mapPhys: () => -Errno.EIO })]);
      const sa = (await pal.mappingAttach([dmaBufImappingPal()], null)) as DmaBufAttachment;
      await pal.resv.lock(null);
      expect(await sa.palMapPhys()).toBe(-Errno.EINVAL);
      pal.resv.unlock();
      await pal.detach(sa);
      pal.put();
      legacy.put();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(rules(r)).toEqual([]);
  });
});

describe('IOV anti-spoofing (Xe PF importer)', () => {
  it('a range in another VF BAR than the negotiated one is -EPERM, and the importer falls back to the scatter table', async () => {
    const { pf, vf0, vf1 } = rig();
    const k = checkedKernel();
    const outcome: (string | number)[] = [];
    k.kthreadRun('t', async () => {
      // A malicious VF0 exporter hands out a range of VF1's BAR.
      const spoof: IovExpOps = {
        mapIov: () => {
          const start = pciResourceStart(vf1, 2);
          return { vf: vf0, bar: 2, ranges: [{ start, end: start + 0xfff }] };
        },
      };
      for (const ops of [iovOps(vf0), spoof]) {
        const d = typedExporter(k, () => [
          dmaBufEmappingIov(ops, vf0, 2),
          dmaBufEmappingSgt(SGT_OPS),
        ]);
        const a = (await d.mappingAttach(
          [dmaBufImappingIov(pf, 2), dmaBufImappingSgt(pf, true)],
          testImporter({ p2p: true }),
        )) as DmaBufAttachment;
        const negotiated = (a.mapType!.exp.data as { dev: PciDev }).dev;
        await d.resv.lock(null);
        const r = (await a.iovMap()) as DmaBufIovRanges;
        const t = dmaBufIovTranslate(pf, negotiated, r);
        await a.iovUnmap(r);
        d.resv.unlock();
        if (typeof t === 'number') {
          outcome.push(t);
          // Fall back: re-attach with the scatter table only.
          await d.detach(a);
          const legacy = (await d.dynamicAttach(
            pf,
            testImporter({ p2p: true }),
          )) as DmaBufAttachment;
          outcome.push(legacy.mapType!.type.name);
          await d.detach(legacy);
        } else {
          outcome.push(`offset ${t[0]!.offset.toString(16)} len ${t[0]!.len.toString(16)}`);
          await d.detach(a);
        }
        d.put();
      }
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(outcome).toEqual(['offset 100000 len 200000', -Errno.EPERM, DMA_BUF_MAPPING_SGT.name]);
  });
});
