/**
 * Bounded memory for records that retire (a job that completed): maps that
 * keep every active record and at least the latest `perGeneration` retired
 * ones, and forget older retired records a generation at a time.
 *
 * Why not delete a record when it retires, or rebuild the maps at each
 * generation: the first costs map work per completion, the second copies
 * every map whole every few thousand completions (on a 10^6-line trace that
 * was a fifth of the allocation). Here a retiring record only gets its
 * generation number, and each map keeps two maps of insertions: when a
 * generation closes, the older map is dropped after the few records in it
 * still remembered (active, or retired in the generation that just closed)
 * are carried into the newer one. Every record in the two maps is then
 * remembered: one set during generation G is active or retired in G, and
 * a carried one is active or retired in G - 1, so look-ups need no check.
 *
 * @kernel none (a data structure of the checkers; the kernel keeps no such history)
 */

/** A record that retires: `retired` is the generation it retired in, -1 while active. */
export interface Retiring {
  retired: number;
}

/** A map of a `Retirement` (rotated with its generations). */
interface Rotating {
  rotate(): void;
}

/**
 * The generations of retired records shared by one rule's maps.
 *
 * @kernel none: a data structure of the checkers
 */
export class Retirement {
  /** The generation records retire into. */
  private gen = 0;
  private retiredInGen = 0;
  private readonly maps: Rotating[] = [];

  constructor(private readonly perGeneration: number) {
    if (!(perGeneration >= 1))
      throw new Error(`Retirement: perGeneration must be >= 1 (got ${perGeneration})`);
    // Generation 0 closes empty (and `register` rotates each map once):
    // every field that changes when a generation closes has then changed
    // already. V8 compiles code that reads a field never yet changed as if
    // it never would, and throws that code away when it first does, here a
    // few thousand jobs into a trace, when the hot path is being optimised.
    this.gen++;
  }

  /** `v` retires now (again, if it had): it joins the current generation, which may close. */
  retire(v: Retiring): void {
    v.retired = this.gen;
    if (++this.retiredInGen < this.perGeneration) return;
    this.gen++;
    this.retiredInGen = 0;
    for (const m of this.maps) m.rotate();
  }

  /** `v` retired before the previous generation: the maps forget it when they rotate. */
  forgotten(v: Retiring): boolean {
    return v.retired >= 0 && v.retired < this.gen - 1;
  }

  /** @internal A map rotated with the generations (once now, empty: see the constructor). */
  register(m: Rotating): void {
    this.maps.push(m);
    m.rotate();
  }
}

/**
 * A map of retiring records by key (see the file comment).
 *
 * @kernel none: a data structure of the checkers
 */
export class RetiringMap<K, V extends Retiring> implements Rotating {
  private cur = new Map<K, V>();
  private prev = new Map<K, V>();

  constructor(private readonly r: Retirement) {
    r.register(this);
  }

  /** The record set last for `k`, unless forgotten. */
  get(k: K): V | undefined {
    // One look-up for both maps (see `RetiringPairMap.get`).
    let m = this.cur;
    for (let i = 0; i < 2; i++, m = this.prev) {
      const v = m.get(k);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  /** Remember `v` under `k` (replacing the record there). */
  set(k: K, v: V): void {
    this.cur.set(k, v);
  }

  /** @internal */
  rotate(): void {
    const cur = this.cur;
    // forEach, not for-of: no entry array per record.
    this.prev.forEach((v, k) => {
      if (!this.r.forgotten(v) && !cur.has(k)) cur.set(k, v);
    });
    this.prev = cur;
    this.cur = new Map();
  }
}

/**
 * `RetiringMap` keyed by a pair (a job's scheduler and id, a fence's context
 * and seqno) without building a key per call.
 *
 * @kernel none: a data structure of the checkers
 */
export class RetiringPairMap<A, V extends Retiring> implements Rotating {
  private cur = new Map<A, Map<number, V>>();
  private prev = new Map<A, Map<number, V>>();

  constructor(private readonly r: Retirement) {
    r.register(this);
  }

  /** The record set last for `(a, b)`, unless forgotten. */
  get(a: A, b: number): V | undefined {
    // One look-up for both maps: the look-up in the older map first finds
    // something after the first rotation, and V8 would throw away the
    // optimised code of every caller that inlined a look-up of its own.
    let m = this.cur;
    for (let i = 0; i < 2; i++, m = this.prev) {
      const v = m.get(a)?.get(b);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  /** Remember `v` under `(a, b)` (replacing the record there). */
  set(a: A, b: number, v: V): void {
    let m = this.cur.get(a);
    if (m === undefined) {
      m = new Map();
      this.cur.set(a, m);
    }
    m.set(b, v);
  }

  /** @internal */
  rotate(): void {
    const cur = this.cur;
    this.prev.forEach((old, a) => {
      let m = cur.get(a);
      old.forEach((v, b) => {
        if (this.r.forgotten(v) || m?.has(b)) return;
        if (m === undefined) {
          m = new Map();
          cur.set(a, m);
        }
        m.set(b, v);
      });
    });
    this.prev = cur;
    this.cur = new Map();
  }
}
