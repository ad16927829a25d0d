import { checkDeterminism as sharedCheck } from '../../src/explore/index.ts';
import { Kernel } from '../../src/kernel/index.ts';
import type { HeldLock, KernelOptions, LockdepMap, LockValidator, RunResult, Thread } from '../../src/kernel/index.ts';

/** Rule ids of a run's splats. */
export function rules(r: RunResult): string[] {
  return r.splats.map((s) => s.rule);
}



/**
 * A tiny stand-in for lockdep (the checker layer builds the real one): a
 * class graph with an edge from every held, checked lock to each new
 * non-trylock acquisition; reports closed cycles and recursive acquisitions.
 */
export class TinyLockdep implements LockValidator {
  readonly edges = new Map<string, Set<string>>();
  readonly cycles: string[][] = [];
  readonly recursions: string[] = [];
  readonly acquisitions: { thread: string; lock: string; held: string[] }[] = [];

  acquire(t: Thread, h: HeldLock): void {
    const next = h.map.key;
    this.acquisitions.push({ thread: t.name, lock: h.map.name, held: t.held.map((x) => x.map.name) });
    if (!h.check || h.trylock) return;
    for (const p of t.held) {
      if (!p.check) continue;
      if (p.map.key === next) {
        if (!h.nestLock && !(h.read === 2 && p.read !== 0)) this.recursions.push(h.map.name);
        continue;
      }
      const path = this.path(next, p.map.key);
      if (path) this.cycles.push([p.map.key, ...path]);
      let s = this.edges.get(p.map.key);
      if (!s) this.edges.set(p.map.key, (s = new Set()));
      s.add(next);
    }
  }

  release(): void {}
  badUnlock(_t: Thread, _m: LockdepMap): void {}

  private path(from: string, to: string): string[] | null {
    const prev = new Map<string, string>([[from, '']]);
    const queue = [from];
    while (queue.length) {
      const n = queue.shift()!;
      if (n === to) {
        const out = [n];
        let c = n;
        while (prev.get(c)) out.unshift((c = prev.get(c)!));
        return out;
      }
      for (const m of this.edges.get(n) ?? []) {
        if (!prev.has(m)) {
          prev.set(m, n);
          queue.push(m);
        }
      }
    }
    return null;
  }
}

export { runHashed } from '../../src/explore/index.ts';

/** Same seed twice, then a replay of the recorded schedule: all three streams must match. */
export async function checkDeterminism(
  setup: (k: Kernel) => void,
  opts: KernelOptions = {},
): Promise<{ hash: string; replayHash: string; again: string; result: RunResult }> {
  const c = await sharedCheck(setup, opts);
  return { hash: c.a, again: c.b, replayHash: c.replay, result: c.result };
}
