/**
 * Structural checks a Chrome Trace Event JSON file must pass for Perfetto UI
 * (which reads JSON best-effort) to show it as intended. Returns a list of
 * problems (empty when the trace is well formed).
 */
import type { ChromeTrace, TraceEvent } from '../../src/trace/index.ts';

export function traceProblems(trace: ChromeTrace): string[] {
  const problems: string[] = [];
  const ev = trace.traceEvents;
  if (!Array.isArray(ev) || ev.length === 0) return ['traceEvents is empty'];
  if (trace.displayTimeUnit !== 'ns' && trace.displayTimeUnit !== 'ms')
    problems.push('displayTimeUnit missing');

  const named = new Set(
    ev.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => e.tid),
  );
  if (!ev.some((e) => e.ph === 'M' && e.name === 'process_name'))
    problems.push('no process_name metadata');
  for (const e of ev) {
    if (e.ph === 'M') continue;
    if (typeof e.ts !== 'number' || !Number.isFinite(e.ts) || e.ts < 0)
      problems.push(`bad ts in ${JSON.stringify(e)}`);
    else if (Math.abs(e.ts * 1000 - Math.round(e.ts * 1000)) > 1e-6)
      problems.push(`ts finer than 1 ns in ${JSON.stringify(e)}`);
    if (!named.has(e.tid)) problems.push(`tid ${e.tid} has no thread_name (${e.name})`);
    if (e.tid === 0) problems.push(`tid 0 is folded into the pid by Perfetto (${e.name})`);
    if (e.ph === 'X' && (typeof e.dur !== 'number' || e.dur < 0))
      problems.push(`X without dur >= 0: ${e.name}`);
    if (e.ph === 'i' && e.s !== 'g' && e.s !== 'p' && e.s !== 't')
      problems.push(`instant without scope: ${e.name}`);
  }

  // X slices on one track must nest perfectly.
  const byTid = new Map<number, TraceEvent[]>();
  for (const e of ev) {
    if (e.ph !== 'X') continue;
    const list = byTid.get(e.tid);
    if (list) list.push(e);
    else byTid.set(e.tid, [e]);
  }
  for (const xs of byTid.values()) xs.sort((a, b) => a.ts! - b.ts!);
  for (const [tid, xs] of byTid) {
    const sorted = [...xs].sort((a, b) => a.ts! - b.ts! || b.dur! - a.dur!);
    const stack: number[] = [];
    for (const x of sorted) {
      const end = round(x.ts! + x.dur!);
      while (stack.length && stack[stack.length - 1]! <= x.ts!) stack.pop();
      const top = stack[stack.length - 1];
      if (top !== undefined && end > top)
        problems.push(
          `slice ${x.name} at ${x.ts} on tid ${tid} overlaps its parent without nesting`,
        );
      stack.push(end);
    }
  }

  // Async b/e pairs: same id, name and cat; end after begin; every begin ended.
  const open = new Map<number, TraceEvent>();
  for (const e of ev) {
    if (e.ph === 'b') {
      if (e.id === undefined) problems.push(`b without id: ${e.name}`);
      else if (open.has(e.id)) problems.push(`b id ${e.id} begun twice`);
      else open.set(e.id, e);
    } else if (e.ph === 'e') {
      const b = e.id === undefined ? undefined : open.get(e.id);
      if (!b) problems.push(`e without b: ${e.name} id ${e.id}`);
      else {
        if (b.name !== e.name || b.cat !== e.cat) problems.push(`e ${e.id} does not match its b`);
        if (e.ts! < b.ts!) problems.push(`e ${e.id} before its b`);
        open.delete(e.id!);
      }
    }
  }
  for (const b of open.values()) problems.push(`b ${b.id} (${b.name}) never ended`);

  // Flows: each id has one s and one f with the same name and cat, f not before s,
  // and each end lies strictly inside a slice on its track.
  const flows = new Map<number, { s?: TraceEvent; f?: TraceEvent }>();
  for (const e of ev) {
    if (e.ph !== 's' && e.ph !== 'f') continue;
    const entry = flows.get(e.id!) ?? {};
    if (entry[e.ph]) problems.push(`flow ${e.id} has two ${e.ph}`);
    entry[e.ph] = e;
    flows.set(e.id!, entry);
  }
  for (const [id, { s, f }] of flows) {
    if (!s || !f) {
      problems.push(`flow ${id} is missing its ${s ? 'f' : 's'}`);
      continue;
    }
    if (s.name !== f.name || s.cat !== f.cat)
      problems.push(`flow ${id}: s and f differ in name/cat`);
    if (f.ts! < s.ts!) problems.push(`flow ${id} ends before it starts`);
    if (f.bp !== 'e') problems.push(`flow ${id}: f must bind to the enclosing slice (bp: "e")`);
    for (const end of [s, f]) {
      if (!insideSlice(byTid.get(end.tid) ?? [], end.ts!))
        problems.push(`flow ${id} ${end.ph} at ${end.ts} on tid ${end.tid} is not inside a slice`);
    }
  }
  return problems;
}

/** True when `ts` lies strictly inside one of `xs` (sorted by start; slices on one track only nest). */
function insideSlice(xs: readonly TraceEvent[], ts: number): boolean {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]!.ts! < ts) lo = mid + 1;
    else hi = mid;
  }
  // The enclosing slice starts before ts; with nesting it is among the last few that do.
  for (let i = lo - 1; i >= 0 && i >= lo - 64; i--) {
    const x = xs[i]!;
    if (ts < x.ts! + x.dur!) return true;
  }
  return false;
}

function round(us: number): number {
  return Math.round(us * 1000) / 1000;
}
