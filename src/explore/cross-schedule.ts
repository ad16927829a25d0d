/**
 * The lockdep dependency graph accumulated across the schedules of one
 * exploration (shared/DESIGN.md: "a cycle whose two halves were seen on
 * different schedules is reported"). Every schedule is validated against
 * the primed graph alone, so that its splats do not depend on which
 * schedules a worker ran before it; the dependencies each schedule added
 * are fed here in schedule order, and a cycle that only their union closes
 * is reported at the schedule that closed it. The union is the same
 * whatever split the exploration had, so the report is too.
 */
import { bfs, Dep, LockdepGraph, Lockdep, pathTo } from '../check/index.ts';
import type { BfsNode, LockClass, LockEdge } from '../check/index.ts';
import { Kernel, LockdepMap } from '../kernel/index.ts';
import type { Splat } from '../kernel/index.ts';
import type { ClassRef, EdgeRecord } from './session.ts';

/** A cycle found only in the union of several schedules' dependencies. */
export interface CrossCycle {
  /** Deduplication key, as lockdep's own reports of the same cycle get. */
  readonly key: string;
  /** The schedule whose dependency closed the cycle. */
  readonly position: number;
  /** Every schedule that contributed a dependency of the cycle, ascending. */
  readonly schedules: readonly number[];
  readonly splat: Splat;
}

/** The union of the dependencies of an exploration's schedules, on top of the priming order. */
export class AccumulatedGraph {
  private readonly g = new LockdepGraph();
  private readonly maps = new Map<string, LockdepMap>();
  /** Edges added from schedules (the others are the priming's); `origin.run` holds the schedule. */
  private readonly mine = new WeakSet<LockEdge>();
  private added = 0;

  constructor(seed: number) {
    const ld = new Lockdep(this.g, { lifetime: false });
    ld.attach(new Kernel({ seed, validator: ld }));
  }

  /** Distinct dependencies added by schedules (not the priming). */
  get dependencies(): number {
    return this.added;
  }

  /** Add the dependency `e` first seen on schedule `position`; the cycle it closes across schedules, if any. */
  add(e: EdgeRecord, position: number): CrossCycle | null {
    const from = this.classOf(e.from);
    const to = this.classOf(e.to);
    let cycle: BfsNode[] | null = null;
    for (const bit of [Dep.EN, Dep.SN, Dep.ER, Dep.SR]) {
      if ((e.dep & bit) === 0) continue;
      const prevExclusive = (bit & (Dep.EN | Dep.ER)) !== 0;
      const nextRecursive = (bit & (Dep.ER | Dep.SR)) !== 0;
      const hit = bfs(this.g, to, nextRecursive, false, (n) => n.cls === from && (prevExclusive || !n.onlyXr));
      if (hit) {
        cycle = pathTo(hit);
        break;
      }
    }
    const old = this.g.edge(from, to);
    if (old) this.g.orDep(old, e.dep);
    else {
      this.mine.add(this.g.addEdge(from, to, e.dep, { thread: e.site, timeNs: 0, step: 0, site: null, run: position, seed: 0 }, null));
      this.added++;
    }
    return cycle && from !== to ? this.report(cycle, e, position) : null;
  }

  private report(path: BfsNode[], closing: EdgeRecord, position: number): CrossCycle | null {
    const edges: LockEdge[] = path.slice(1).map((n) => n.edge!);
    const positions = new Set<number>([position]);
    for (const x of edges) if (this.mine.has(x)) positions.add(x.origin.run);
    // One schedule alone closes it: that schedule reported it itself.
    if (positions.size < 2) return null;
    const names = path.map((n) => n.cls.name);
    const schedules = [...positions].sort((a, b) => a - b);
    const line = (from: string, to: string, where: string): string => `  ${to} acquired while holding ${from}: ${where}`;
    const body =
      'The dependency chain closes only across schedules: each dependency below was seen on some schedule, ' +
      'none of them shows the whole cycle, and together they allow a deadlock.\n\n' +
      'existing dependencies:\n' +
      edges
        .map((x) => line(x.from.name, x.to.name, this.mine.has(x) ? `schedule ${x.origin.run}: ${x.origin.thread}` : 'dma_resv_lockdep priming (boot)'))
        .join('\n') +
      `\n\nclosing dependency:\n${line(closing.from.name, closing.to.name, `schedule ${position}: ${closing.site}`)}\n`;
    return {
      key: `lockdep.circular:${[...new Set(names)].sort().join('|')}`,
      position,
      schedules,
      splat: {
        rule: 'lockdep.circular',
        severity: 'lockdep',
        headline: 'WARNING: possible circular locking dependency detected',
        body,
        thread: null,
        timeNs: 0,
        step: 0,
        data: { cycle: [...names, names[0]], acrossSchedules: schedules },
      },
    };
  }

  private classOf(c: ClassRef): LockClass {
    const id = `${c.key}\u0000${c.subclass}`;
    let map = this.maps.get(id);
    if (!map) {
      const existing = this.g.findClass(c.key, c.subclass);
      if (existing) return existing;
      const base = c.subclass ? c.name.replace(/\/\d+$/, '') : c.name;
      map = new LockdepMap(base, c.key, c.waitInner as LockdepMap['waitInner'], c.waitOuter as LockdepMap['waitOuter']);
      this.maps.set(id, map);
    }
    return this.g.classOf(map, c.subclass);
  }
}
