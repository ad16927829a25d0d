import type { Backtrace, LdWaitType, LockdepMap } from '../kernel/index.ts';
import { LOCKF_USED_IN_IRQ_ALL } from './usage.ts';

/** `LD_WAIT_MAX`: the wait type of a context with nothing held (above every lock's). */
export const LD_WAIT_MAX = 5;

/**
 * Where something happened: the acquisition that recorded an edge, or that
 * first gave a class a usage bit. `run` counts kernels attached to the graph
 * (1 for the first run of an exploration).
 */
export interface LockSite {
  readonly thread: string;
  readonly timeNs: number;
  readonly step: number;
  /** TypeScript source location of the acquisition, when stack capture is on. */
  readonly site: string | null;
  /** Its backtrace, when stack capture is on (reports attach it to the splat). */
  readonly stack?: Backtrace | null;
  readonly run: number;
  readonly seed: number;
}

/** Dependency types (`DEP_*_MASK`): bit index = (prev exclusive) + 2 * (next non-recursive). */
export const Dep = { SR: 1, ER: 2, SN: 4, EN: 8 } as const;
/** Edges leaving a shared (S) holder. */
export const DEP_S_MASK = Dep.SR | Dep.SN;
/** Edges into a non-recursive (N) acquisition. */
export const DEP_N_MASK = Dep.SN | Dep.EN;

/** `calc_dep`: the type of the edge prev → next from their read modes. @kernel calc_dep */
export function calcDep(prevRead: number, nextRead: number): number {
  return 1 << ((prevRead === 0 ? 1 : 0) + (nextRead !== 2 ? 2 : 0));
}

/**
 * The backward encoding (`calc_depb`): ER and SN swap roles when walking edges in reverse.
 *
 * @kernel calc_depb (the same encoding, derived here from the forward edge type)
 */
export function depToBackward(dep: number): number {
  return (dep & (Dep.SR | Dep.EN)) | (dep & Dep.ER ? Dep.SN : 0) | (dep & Dep.SN ? Dep.ER : 0);
}

/**
 * `EN`, `SR|EN`, …
 *
 * @kernel none: report text for the DEP_*_BIT bits of struct lock_list.dep
 */
export function depNames(dep: number): string {
  const out: string[] = [];
  if (dep & Dep.EN) out.push('EN');
  if (dep & Dep.ER) out.push('ER');
  if (dep & Dep.SN) out.push('SN');
  if (dep & Dep.SR) out.push('SR');
  return out.join('|');
}

/**
 * A lockdep class: a key plus a subclass. Holds the usage bits, the edges to
 * and from other classes, and BFS scratch marks.
 *
 * @kernel struct lock_class
 */
export class LockClass {
  /** Usage bits (`usage_mask`), see `Usage`. */
  usage = 0;
  /** Where each usage bit was first set (`usage_traces`). */
  readonly usageSites: (LockSite | null)[] = new Array<LockSite | null>(10).fill(null);
  /** `locks_after`: edges this → other. */
  readonly after: LockEdge[] = [];
  /** `locks_before`: edges other → this. */
  readonly before: LockEdge[] = [];
  readonly afterByTo = new Map<LockClass, LockEdge>();
  /** @internal BFS generation marks: visited in any state / visited with a strong (non-xR) arrival. */
  seenGen = 0;
  strongGen = 0;
  /** Removed by `LockdepGraph.rollback`: maps that cached it must look their class up again. */
  dead = false;

  constructor(
    readonly graph: LockdepGraph,
    readonly index: number,
    readonly key: string,
    readonly subclass: number,
    /** Name as reports print it: the lock name, `#n` for same-named classes, `/n` for a subclass. */
    readonly name: string,
    readonly waitInner: LdWaitType,
    readonly waitOuter: LdWaitType,
  ) {}

  /** True when the class was ever acquired in an IRQ context (any kind). */
  get irqSafe(): boolean {
    return (this.usage & LOCKF_USED_IN_IRQ_ALL) !== 0;
  }
}

/**
 * One dependency prev → next with the union of its types and where it was
 * first recorded.
 *
 * @kernel struct lock_list
 */
export class LockEdge {
  constructor(
    readonly from: LockClass,
    readonly to: LockClass,
    /** Bitmask of `Dep` types. */
    public dep: number,
    /** The acquisition of `to` (with `from` held) that recorded the edge first. */
    readonly origin: LockSite,
    /** Where `from` had been acquired at that time. */
    readonly fromSite: string | null,
  ) {}

  get depB(): number {
    return depToBackward(this.dep);
  }
}

/**
 * A held-lock chain (`struct lock_chain`): the sequence of acquisitions
 * (class and mode) from the bottom of a task's stack to this entry. Chains
 * form a trie, so the chain of a new acquisition is one child lookup from
 * the chain below it, and `validated` says whether its dependencies were
 * already checked (then nothing else is done: the held-chain cache).
 * Deliberate difference: the kernel hashes the chain (64-bit key); the trie
 * gives the same "validated once" without collisions.
 *
 * @kernel struct lock_chain (lookup_chain_cache, add_chain_cache)
 */
export class ChainNode {
  validated = false;
  /** The graph whose journal records new children (null for a detached node). */
  graph: LockdepGraph | null = null;
  private readonly children = new Map<number, ChainNode>();
  private lastId = -1;
  private lastChild: ChainNode | null = null;

  constructor(
    readonly parent: ChainNode | null,
    /** `hlock_id`: class index and acquisition mode. */
    readonly id: number,
    /** Class of the top entry (null for the root). */
    readonly cls: LockClass | null,
    /** Strictest inner wait type held along the chain (`LD_WAIT_MAX` when none). */
    readonly inner: number,
    readonly depth: number,
  ) {}

  /** The chain extended by acquisition `id` of `cls`, created on first use. */
  child(id: number, cls: LockClass, inner: number): ChainNode {
    if (this.lastId === id) return this.lastChild!;
    let c = this.children.get(id);
    if (c === undefined) {
      c = new ChainNode(this, id, cls, inner, this.depth + 1);
      c.graph = this.graph;
      this.children.set(id, c);
      this.graph?.journalChild(this, id);
    }
    this.lastId = id;
    this.lastChild = c;
    return c;
  }

  /** @internal Undo `child(id)` (graph rollback). */
  dropChild(id: number): void {
    this.children.delete(id);
    this.lastId = -1;
    this.lastChild = null;
  }
}

/** Counters for benchmarks and `--json` (not part of any verdict). */
export interface LockdepStats {
  /** Chains validated (held-chain cache misses); every other validated acquisition was a hit. */
  chainMisses: number;
  edges: number;
  redundantEdges: number;
  bfsVisits: number;
}

/**
 * The class dependency graph. It outlives any one `Kernel`: an exploration
 * keeps one graph across all its runs, so an order seen in run 1 and its
 * inverse in run 7 are reported in run 7. Holds the classes (by key and
 * subclass), the edges, the held-chain cache and the set of reports already
 * made (each distinct report once per graph).
 *
 * @kernel the global state of kernel/locking/lockdep.c (lock_classes, chainhash_table, list_entries)
 */
export class LockdepGraph {
  readonly classes: LockClass[] = [];
  private readonly byKey = new Map<string, LockClass[]>();
  private readonly nameCount = new Map<string, number>();
  /** Held-chain cache: the root of the chain trie (no lock held). */
  readonly chainRoot = new ChainNode(null, -1, null, LD_WAIT_MAX, 0);
  /** Dedup keys of the reports made so far. */
  readonly reported = new Set<string>();
  /** Kernels attached so far (the current run number). */
  runs = 0;
  /** The `dma_resv_lockdep` priming order has been recorded. */
  primed = false;
  /** Classes that were ever used in IRQ context: while zero, IRQ-safety BFS is skipped. */
  irqSafeClasses = 0;
  readonly stats: LockdepStats = { chainMisses: 0, edges: 0, redundantEdges: 0, bfsVisits: 0 };
  /** @internal BFS generation counter. */
  gen = 0;
  /** Undo steps since `checkpoint()`, newest last; null when not recording. */
  private journal: (() => void)[] | null = null;
  private savedRuns = 0;
  private savedIrqSafe = 0;

  constructor() {
    this.chainRoot.graph = this;
  }

  /**
   * Start recording every change (classes, edges, chains, usage bits,
   * reports) so that `rollback()` can return the graph to this state. An
   * exploration primes the graph once, takes a checkpoint, and rolls back
   * after each schedule: every schedule is then judged against the same
   * graph (the priming order and nothing else), whatever ran before it, so
   * results do not depend on how schedules are split among workers. The
   * dependencies a schedule added are read with `addedEdges()` before
   * rolling back (the explorer accumulates them across schedules).
   */
  checkpoint(): void {
    this.journal = [];
    this.savedRuns = this.runs;
    this.savedIrqSafe = this.irqSafeClasses;
  }

  /** Undo every change since `checkpoint()` and keep recording from there. */
  rollback(): void {
    const j = this.journal;
    if (j === null) throw new Error('LockdepGraph.rollback() without checkpoint()');
    for (let i = j.length - 1; i >= 0; i--) j[i]!();
    j.length = 0;
    this.runs = this.savedRuns;
    this.irqSafeClasses = this.savedIrqSafe;
  }

  /** Classes removed by rollbacks, by key and subclass, to be revived by the next run that creates them. */
  private readonly spare = new Map<string, LockClass>();

  /**
   * A rolled-back class identical to the one about to be created (same
   * key, subclass, name, wait types and index): its usage and edges were
   * rolled back with it, so it can serve again instead of a new object
   * (every schedule of an exploration creates the same classes).
   */
  private revive(map: LockdepMap, subclass: number, name: string): LockClass | null {
    const id = `${map.key}\u0000${subclass}`;
    const c = this.spare.get(id);
    if (!c || c.index !== this.classes.length || c.name !== name || c.waitInner !== map.waitInner || c.waitOuter !== (map.waitOuter || map.waitInner)) return null;
    this.spare.delete(id);
    c.dead = false;
    return c;
  }

  /** Edges added since `checkpoint()`, in the order they were added (empty when not recording). */
  addedEdges(): LockEdge[] {
    return this.added.slice();
  }

  private readonly added: LockEdge[] = [];

  /** @internal A chain node got child `id`. */
  journalChild(parent: ChainNode, id: number): void {
    this.journal?.push(() => {
      parent.dropChild(id);
    });
  }

  /** Mark `node` validated (its dependencies were checked once for this graph). */
  setValidated(node: ChainNode): void {
    node.validated = true;
    this.journal?.push(() => {
      node.validated = false;
    });
  }

  /** Give `cls` usage bit `bit`, first seen at `site`. */
  setUsage(cls: LockClass, bit: number, site: LockSite): void {
    const wasSafe = cls.irqSafe;
    const oldUsage = cls.usage;
    const oldSite = cls.usageSites[bit] ?? null;
    cls.usage |= 1 << bit;
    cls.usageSites[bit] = site;
    if (!wasSafe && cls.irqSafe) this.irqSafeClasses++;
    this.journal?.push(() => {
      cls.usage = oldUsage;
      cls.usageSites[bit] = oldSite;
    });
  }

  /** Add dependency types `dep` to the existing edge `e`. */
  orDep(e: LockEdge, dep: number): void {
    const old = e.dep;
    if ((old | dep) === old) return;
    e.dep = old | dep;
    this.journal?.push(() => {
      e.dep = old;
    });
  }

  /**
   * `register_lock_class`: the class of `map` acquired with `subclass`, created
   * on first use. Cached on the map (`class_cache`).
   */
  classOf(map: LockdepMap, subclass: number): LockClass {
    const cache = map.classCache as LockClass[] | null;
    const hit = cache?.[subclass];
    if (hit !== undefined && hit.graph === this && hit.key === map.key && !hit.dead) return hit;
    let list = this.byKey.get(map.key);
    if (!list) {
      list = [];
      this.byKey.set(map.key, list);
    }
    let cls = list[subclass];
    if (!cls) {
      // Same-named classes from different keys print as name, name#2, …
      const base = list.find((c) => c !== undefined);
      let name: string;
      let counted: string | null = null;
      if (base) {
        name = base.name.replace(/\/\d+$/, '');
      } else {
        const n = (this.nameCount.get(map.name) ?? 0) + 1;
        this.nameCount.set(map.name, n);
        counted = map.name;
        name = n > 1 ? `${map.name}#${n}` : map.name;
      }
      if (subclass) name = `${name}/${subclass}`;
      const created = this.revive(map, subclass, name) ?? new LockClass(this, this.classes.length, map.key, subclass, name, map.waitInner, map.waitOuter || map.waitInner);
      cls = created;
      this.classes.push(created);
      list[subclass] = created;
      const key = map.key;
      const owner = list;
      this.journal?.push(() => {
        created.dead = true;
        this.spare.set(`${key}\u0000${subclass}`, created);
        this.classes.pop();
        (owner as (LockClass | undefined)[])[subclass] = undefined;
        if (!owner.some((c) => c !== undefined)) this.byKey.delete(key);
        if (counted !== null) {
          const n = this.nameCount.get(counted)! - 1;
          if (n > 0) this.nameCount.set(counted, n);
          else this.nameCount.delete(counted);
        }
      });
    }
    if (!cache || (cache[0] !== undefined && cache[0].graph !== this)) map.classCache = [];
    (map.classCache as LockClass[])[subclass] = cls;
    return cls;
  }

  /** The class with `key` (subclass 0 unless given), if it was ever used. */
  findClass(key: string, subclass = 0): LockClass | undefined {
    return this.byKey.get(key)?.[subclass];
  }

  /** The edge from → to, if recorded. */
  edge(from: LockClass, to: LockClass): LockEdge | undefined {
    return from.afterByTo.get(to);
  }

  /** Record a new edge (callers checked it is not present). */
  addEdge(from: LockClass, to: LockClass, dep: number, origin: LockSite, fromSite: string | null): LockEdge {
    const e = new LockEdge(from, to, dep, origin, fromSite);
    from.after.push(e);
    from.afterByTo.set(to, e);
    to.before.push(e);
    this.stats.edges++;
    if (this.journal !== null) {
      this.added.push(e);
      this.journal.push(() => {
        from.after.pop();
        from.afterByTo.delete(to);
        to.before.pop();
        this.added.pop();
      });
    }
    return e;
  }

  /** Record a report key; false if that report was already made on this graph. */
  firstReport(key: string): boolean {
    if (this.reported.has(key)) return false;
    this.reported.add(key);
    this.journal?.push(() => {
      this.reported.delete(key);
    });
    return true;
  }
}
