/**
 * Bug identity for deduplication: a rule id plus what the report is about
 * (its lock classes, the locks a deadlock waits on, or the report's
 * headline with numbers blanked), so the same bug found on a thousand
 * schedules is reported once, and two different cycles are two bugs.
 * Source sites are not part of it: exploration runs without stack capture
 * (they are captured when the shrunk schedule is replayed for the report).
 */
import type { Splat } from '../kernel/index.ts';

/** The deduplication key of a splat, or null for splats that are not findings (severity `info` other than limits). */
export function bugKey(s: Splat): string | null {
  const d = s.data;
  if (s.rule === 'run.limit') return `run.limit:${/virtual-time/.test(s.headline) ? 'time' : 'steps'}`;
  if (s.severity === 'info') return null;
  if (s.rule === 'lockdep.circular' && Array.isArray(d?.cycle)) {
    return `lockdep.circular:${classSet(d.cycle as unknown[])}`;
  }
  if (s.rule === 'sched.deadlock' && Array.isArray(d?.threads)) {
    const locks: string[] = [];
    for (const t of d.threads as { waitsOn?: unknown; holding?: unknown }[]) {
      if (typeof t.waitsOn === 'string') locks.push(t.waitsOn);
      if (Array.isArray(t.holding)) for (const h of t.holding) if (typeof h === 'string') locks.push(h);
    }
    return `sched.deadlock:${classSet(locks)}`;
  }
  if (s.rule.startsWith('lockdep.') && d) {
    const names: string[] = [];
    for (const f of ['acquiring', 'holding', 'lock']) {
      const v = d[f];
      if (typeof v === 'string') names.push(v);
      else if (v && typeof v === 'object' && typeof (v as { class?: unknown }).class === 'string') names.push((v as { class: string }).class);
    }
    if (names.length > 0) return `${s.rule}:${names.join('|')}`;
  }
  return `${s.rule}:${s.headline.replace(/\d+/g, 'N')}`;
}

function classSet(names: readonly unknown[]): string {
  return [...new Set(names.map(String))].sort().join('|');
}
