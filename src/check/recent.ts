/**
 * Bounded memory for the rule book's consumers: a map that remembers at
 * least the last `atLeast` entries set (destroyed fences, completed jobs)
 * and forgets older ones a generation at a time.
 *
 * Why generations and not one `Map` trimmed entry by entry: a `Map` with
 * thousands of entries under constant insert/delete churn is rehashed every
 * few thousand operations, and past about 4096 entries its table is a
 * large object that every rehash reallocates. On a 10^6-line trace that
 * cost 0.6–1 µs per insert. Here each generation only grows (up to
 * `GENERATION` entries) and is dropped whole, so no table is ever rehashed
 * in place or grows large.
 *
 * @kernel none (a data structure of the checkers; the kernel keeps no such history)
 */

/**
 * Insertions per generation. A `Map` of up to 4096 entries has a table of
 * about 115 KB, just under V8's large-object size; a generation never
 * grows past it, so remembering at least 4096 entries costs two look-ups
 * on a miss.
 */
const GENERATION = 4096;

/**
 * A map remembering at least the last `atLeast` entries set (see the file comment).
 *
 * @kernel none: a data structure of the checkers (the kernel keeps no such history)
 */
export class RecentMap<K, V> {
  /** Oldest first; the last one takes new entries. */
  private gens: Map<K, V>[];
  private cur: Map<K, V>;
  /** Keys added to `cur` (deletes give no room back: a generation is a span of insertions). */
  private curSets = 0;
  private readonly keepFull: number;

  constructor(atLeast: number) {
    if (!(atLeast >= 1)) throw new Error(`RecentMap: atLeast must be >= 1 (got ${atLeast})`);
    this.keepFull = Math.ceil(atLeast / GENERATION);
    this.cur = new Map();
    this.gens = [this.cur];
  }

  /** The newest value set for `k`, unless deleted or forgotten. */
  get(k: K): V | undefined {
    const gens = this.gens;
    for (let i = gens.length - 1; i >= 0; i--) {
      const v = gens[i]!.get(k);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  has(k: K): boolean {
    return this.get(k) !== undefined;
  }

  /**
   * Remember `k` as the newest entry (`v` must not be undefined). An older
   * generation's entry for `k` stays until its generation goes, shadowed.
   */
  set(k: K, v: V): void {
    const cur = this.cur;
    const n = cur.size;
    cur.set(k, v);
    if (cur.size > n && ++this.curSets >= GENERATION) this.rotate();
  }

  private rotate(): void {
    this.cur = new Map();
    this.curSets = 0;
    this.gens.push(this.cur);
    if (this.gens.length > this.keepFull + 1) this.gens.shift();
  }

  /** Forget `k` (in every generation). */
  delete(k: K): boolean {
    let found = false;
    for (const g of this.gens) if (g.delete(k)) found = true;
    return found;
  }

  clear(): void {
    this.cur = new Map();
    this.gens = [this.cur];
    this.curSets = 0;
  }
}

/**
 * `RecentMap` keyed by a pair (a fence's `context` and `seqno`, a job's
 * scheduler and id) without building a key per call: each generation maps
 * the first part to a map of the second.
 *
 * @kernel none: a data structure of the checkers
 */
export class RecentPairMap<A, V> {
  private gens: Map<A, Map<number, V>>[];
  private cur: Map<A, Map<number, V>>;
  private curSets = 0;
  private readonly keepFull: number;

  constructor(atLeast: number) {
    if (!(atLeast >= 1)) throw new Error(`RecentPairMap: atLeast must be >= 1 (got ${atLeast})`);
    this.keepFull = Math.ceil(atLeast / GENERATION);
    this.cur = new Map();
    this.gens = [this.cur];
  }

  /** The newest value set for `(a, b)`, unless deleted or forgotten. */
  get(a: A, b: number): V | undefined {
    const gens = this.gens;
    for (let i = gens.length - 1; i >= 0; i--) {
      const v = gens[i]!.get(a)?.get(b);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  /** Remember `(a, b)` as the newest entry (`v` must not be undefined). */
  set(a: A, b: number, v: V): void {
    let m = this.cur.get(a);
    if (!m) {
      m = new Map();
      this.cur.set(a, m);
    }
    const n = m.size;
    m.set(b, v);
    if (m.size > n && ++this.curSets >= GENERATION) {
      this.cur = new Map();
      this.curSets = 0;
      this.gens.push(this.cur);
      if (this.gens.length > this.keepFull + 1) this.gens.shift();
    }
  }

  /** Forget `(a, b)` (in every generation). */
  delete(a: A, b: number): boolean {
    let found = false;
    for (const g of this.gens) {
      const m = g.get(a);
      if (m?.delete(b)) {
        found = true;
        if (m.size === 0) g.delete(a);
      }
    }
    return found;
  }
}
