/**
 * The real captures in shared/data/traces (three ftrace captures of sw_sync
 * and vgem fences from a Linux 6.1 kernel, and Perfetto's msm textproto):
 * each parses completely with the expected clean verdict, and a copy with
 * one line reordered or duplicated gives the matching finding.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkTraceText } from '../../src/trace/index.ts';

const DIR = fileURLToPath(new URL('../../../../shared/data/traces/', import.meta.url));
const dir = existsSync(DIR) ? DIR : '/work/shared/data/traces/';

function read(name: string): string {
  return readFileSync(dir + name, 'utf8');
}

const FTRACE = [
  'linux-6.1-sw_sync-export-basic.ftrace.txt',
  'linux-6.1-sw_sync-sync_merge.ftrace.txt',
  'linux-6.1-sw_sync-sync_multi_timeline_wait.ftrace.txt',
];

function rules(text: string): string[] {
  return checkTraceText(text).findings.map((f) => f.rule);
}

/** The file's lines with `f` applied to the record lines (headers kept). */
function edit(text: string, f: (records: string[]) => string[]): string {
  const lines = text.split('\n');
  const head = lines.filter((l) => l.startsWith('#'));
  const recs = lines.filter((l) => l.trim() && !l.startsWith('#'));
  return [...head, ...f(recs)].join('\n');
}

function recordIndex(recs: string[], event: string, seqno: number, context?: number): number {
  return recs.findIndex(
    (l) =>
      l.includes(`${event}:`) &&
      l.endsWith(` seqno=${seqno}`) &&
      (context === undefined || l.includes(` context=${context} `)),
  );
}

describe('real captures parse completely with a clean verdict', () => {
  it.each(FTRACE)(
    '%s: every line is a dma_fence record of a 5-flag ftrace trace file, nothing found',
    (name) => {
      const text = read(name);
      const r = checkTraceText(text);
      const records = text.split('\n').filter((l) => l.trim() && !l.startsWith('#')).length;
      expect(r.format).toBe('ftrace (tracing/trace)');
      expect(r.records).toBe(records);
      expect(r.families).toEqual({ dma_fence: records });
      expect(r.flagWidths).toEqual({ 5: records });
      expect(r.malformedCount).toBe(0);
      expect(r.findings).toEqual([]);
      expect(r.window.unknownOriginEvents).toBe(0);
      expect(r.window.pendingAtEnd).toBe(0);
    },
  );

  it('the Perfetto msm textproto: 10 events (init, emit, signaled, a wait pair) on two contexts, nothing found', () => {
    const r = checkTraceText(read('perfetto-drm_dma_fence.textproto'));
    expect(r.format).toBe('perfetto textproto');
    expect(r.records).toBe(10);
    expect(r.malformedCount).toBe(0);
    expect(r.findings).toEqual([]);
    expect(
      r.contexts.map((c) => `${c.context} ${c.driver}:${c.timeline} ${c.fences}/${c.signalled}`),
    ).toEqual(['1 msm:gpu-ring-0 2/2', '9 drm_sched:ring0 1/1']);
  });
});

describe('one line reordered or duplicated gives the matching finding', () => {
  it('sync_merge with the signals of seqno 1 and 2 swapped: fence.context_out_of_order at the line of seqno 2', () => {
    const text = edit(read('linux-6.1-sw_sync-sync_merge.ftrace.txt'), (recs) => {
      const a = recordIndex(recs, 'dma_fence_signaled', 1);
      const b = recordIndex(recs, 'dma_fence_signaled', 2);
      const out = [...recs];
      [out[a], out[b]] = [out[b]!, out[a]!];
      return out;
    });
    const r = checkTraceText(text);
    expect(r.findings.map((f) => f.rule)).toEqual(['fence.context_out_of_order']);
    const f = r.findings[0]!;
    expect(f.data).toMatchObject({ context: 1226, seqno: 2, pending: [1] });
    expect(text.split('\n')[f.step - 1]).toContain('dma_fence_signaled');
    expect(text.split('\n')[f.step - 1]).toContain('seqno=2');
    expect(f.thread).toBe('sync-cases-136');
  });

  it('sync_merge with a signal line duplicated: fence.signalled_twice naming both lines', () => {
    const text = edit(read('linux-6.1-sw_sync-sync_merge.ftrace.txt'), (recs) => {
      const a = recordIndex(recs, 'dma_fence_signaled', 3);
      return [...recs.slice(0, a + 1), recs[a]!, ...recs.slice(a + 1)];
    });
    const r = checkTraceText(text);
    expect(r.findings.map((f) => f.rule)).toEqual(['fence.signalled_twice']);
    const lines = r.findings[0]!.data!.lines as number[];
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe(lines[0]! + 1);
  });

  it("export-basic with the sw_sync fence's signal and destroy lines swapped: fence.signalled_after_destroy", () => {
    const text = edit(read('linux-6.1-sw_sync-export-basic.ftrace.txt'), (recs) => {
      const s = recordIndex(recs, 'dma_fence_signaled', 0, 1232);
      const d = recordIndex(recs, 'dma_fence_destroy', 0, 1232);
      const out = [...recs];
      [out[s], out[d]] = [out[d]!, out[s]!];
      return out;
    });
    expect(rules(text)).toEqual(['fence.signalled_after_destroy']);
  });

  it("export-basic with the destroy moved right before the signal on the same task: the release path's fence.released_with_pending_signals", () => {
    const text = edit(read('linux-6.1-sw_sync-export-basic.ftrace.txt'), (recs) => {
      const s = recordIndex(recs, 'dma_fence_signaled', 0, 1232);
      const d = recordIndex(recs, 'dma_fence_destroy', 0, 1232);
      const out = [...recs];
      const [destroy] = out.splice(d, 1);
      out.splice(s, 0, destroy!);
      return out;
    });
    expect(rules(text)).toEqual(['fence.released_with_pending_signals']);
  });

  it("multi_timeline_wait with a timeline's init moved after its signal: the signal has an unknown origin, the init is behind the timeline and stays pending", () => {
    const text = edit(read('linux-6.1-sw_sync-sync_multi_timeline_wait.ftrace.txt'), (recs) => {
      const i = recordIndex(recs, 'dma_fence_init', 5, 1227);
      const s = recordIndex(recs, 'dma_fence_signaled', 5, 1227);
      const out = [...recs];
      const [init] = out.splice(i, 1);
      out.splice(s, 0, init!);
      return out;
    });
    const r = checkTraceText(text);
    expect(r.window.unknownOriginEvents).toBeGreaterThan(0);
    expect(r.findings.map((f) => f.rule)).toContain('fence.seqno_not_after_signalled');
  });

  it('the Perfetto capture with the two msm signals swapped: fence.context_out_of_order; with one signal duplicated: fence.signalled_twice', () => {
    const text = read('perfetto-drm_dma_fence.textproto');
    const packets = text.split(/(?=^packet \{)/m);
    const sig = (seqno: number): number =>
      packets.findIndex((p) => p.includes('dma_fence_signaled') && p.includes(`seqno: ${seqno}`));
    const a = sig(16665);
    const b = sig(16666);
    const swapped = [...packets];
    [swapped[a], swapped[b]] = [swapped[b]!, swapped[a]!];
    expect(rules(swapped.join(''))).toEqual(['fence.context_out_of_order']);
    const dup = [...packets.slice(0, a + 1), packets[a]!, ...packets.slice(a + 1)];
    expect(rules(dup.join(''))).toEqual(['fence.signalled_twice']);
  });
});
