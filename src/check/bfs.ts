import { DEP_N_MASK, DEP_S_MASK } from './graph.ts';
import type { LockClass, LockdepGraph, LockEdge } from './graph.ts';

/**
 * A class reached by a search, with the edge that led to it (`lock_list`
 * with its `parent`) and whether the path into it ends in recursive-read
 * edges only (`only_xr`).
 */
export interface BfsNode {
  readonly cls: LockClass;
  readonly onlyXr: boolean;
  readonly edge: LockEdge | null;
  readonly parent: BfsNode | null;
  readonly depth: number;
}

/**
 * Breadth-first search along strong dependency paths (`__bfs`): a path may
 * not continue with an edge that starts from a shared holder (`S*`) right
 * after an edge that ends in a recursive read (`*R`). `rootOnlyXr` says
 * whether the virtual edge into the root ends in `R` (forward) or starts
 * from `S` (backward). The root itself is matched too, as in the kernel.
 *
 * Deliberate difference: a class is revisited once if it was first reached
 * only through `*R` edges and later through a strong one, so no strong path
 * is missed (the kernel marks classes visited once, whatever the arrival).
 *
 * @kernel __bfs, __bfs_forwards, __bfs_backwards (kernel/locking/lockdep.c)
 */
export function bfs(
  g: LockdepGraph,
  root: LockClass,
  rootOnlyXr: boolean,
  backward: boolean,
  match: (n: BfsNode) => boolean,
): BfsNode | null {
  const gen = ++g.gen;
  root.seenGen = gen;
  if (!rootOnlyXr) root.strongGen = gen;
  const queue: BfsNode[] = [{ cls: root, onlyXr: rootOnlyXr, edge: null, parent: null, depth: 0 }];
  for (let qi = 0; qi < queue.length; qi++) {
    const n = queue[qi]!;
    g.stats.bfsVisits++;
    if (match(n)) return n;
    const list = backward ? n.cls.before : n.cls.after;
    for (let i = 0; i < list.length; i++) {
      const e = list[i]!;
      let dep = backward ? e.depB : e.dep;
      if (n.onlyXr) dep &= ~DEP_S_MASK;
      if (dep === 0) continue;
      const onlyXr = (dep & DEP_N_MASK) === 0;
      const c = backward ? e.from : e.to;
      if (c.strongGen === gen) continue;
      if (onlyXr && c.seenGen === gen) continue;
      c.seenGen = gen;
      if (!onlyXr) c.strongGen = gen;
      queue.push({ cls: c, onlyXr, edge: e, parent: n, depth: n.depth + 1 });
    }
  }
  return null;
}

/**
 * The nodes from the root to `n`, root first.
 *
 * @kernel get_lock_parent, walked from the found entry up to the root as print_circular_bug does
 */
export function pathTo(n: BfsNode): BfsNode[] {
  const out: BfsNode[] = [];
  for (let p: BfsNode | null = n; p; p = p.parent) out.push(p);
  return out.reverse();
}
