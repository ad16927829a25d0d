/**
 * The maps of retiring records (done jobs) remember exactly what a rebuild
 * at every generation would: every active record and every record retired
 * in the current or the previous generation, with later sets replacing
 * earlier ones.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Retirement, RetiringMap, RetiringPairMap } from '../../src/check/index.ts';
import type { Retiring } from '../../src/check/index.ts';

interface Rec extends Retiring {
  readonly n: number;
}

/** The reference: one map, rebuilt whole when a generation closes. */
class Rebuilt {
  /** As `Retirement`: generation 0 closes empty when it is made. */
  gen = 1;
  done = 0;
  map = new Map<string, Rec>();
  constructor(private readonly per: number) {}
  /** After `Retirement.retire(v)` set `v.retired` (to `gen`, as it counts the same retirements). */
  retired(v: Rec): void {
    expect(v.retired).toBe(this.gen);
    if (++this.done < this.per) return;
    this.gen++;
    this.done = 0;
    const kept = new Map<string, Rec>();
    for (const [k, x] of this.map) if (x.retired < 0 || x.retired >= this.gen - 1) kept.set(k, x);
    this.map = kept;
  }
}

type Op = { op: 'set'; key: number } | { op: 'retire'; key: number } | { op: 'get'; key: number };

const ops = fc.array(
  fc.oneof(
    fc.record({ op: fc.constant('set' as const), key: fc.integer({ min: 0, max: 40 }) }),
    fc.record({ op: fc.constant('retire' as const), key: fc.integer({ min: 0, max: 40 }) }),
    fc.record({ op: fc.constant('get' as const), key: fc.integer({ min: 0, max: 40 }) }),
  ),
  { maxLength: 400 },
);

describe('RetiringMap and RetiringPairMap', () => {
  it('find exactly the records a per-generation rebuild keeps', () => {
    fc.assert(
      fc.property(ops, fc.integer({ min: 1, max: 6 }), (list: Op[], per) => {
        const ref = new Rebuilt(per);
        const r = new Retirement(per);
        const single = new RetiringMap<string, Rec>(r);
        const pair = new RetiringPairMap<number, Rec>(r);
        let n = 0;
        for (const o of list) {
          const k = String(o.key);
          const a = o.key % 3;
          if (o.op === 'set') {
            const v: Rec = { n: n++, retired: -1 };
            ref.map.set(k, v);
            single.set(k, v);
            pair.set(a, o.key, v);
          } else if (o.op === 'retire') {
            // Retire the record the maps find (a job completing), if any.
            const v = ref.map.get(k);
            expect(single.get(k)).toBe(v);
            if (v) {
              r.retire(v);
              ref.retired(v);
            }
          } else {
            const want = ref.map.get(k);
            expect(single.get(k)).toBe(want);
            expect(pair.get(a, o.key)).toBe(want);
          }
        }
        for (let key = 0; key <= 40; key++) {
          expect(single.get(String(key))).toBe(ref.map.get(String(key)));
          expect(pair.get(key % 3, key)).toBe(ref.map.get(String(key)));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('forget a record retired two generations ago, keep an active one forever', () => {
    const r = new Retirement(2);
    const m = new RetiringMap<string, Rec>(r);
    const old: Rec = { n: 0, retired: -1 };
    const active: Rec = { n: 1, retired: -1 };
    m.set('old', old);
    m.set('active', active);
    r.retire(old);
    for (let i = 0; i < 3; i++) {
      const x: Rec = { n: 2 + i, retired: -1 };
      m.set(`x${i}`, x);
      r.retire(x);
    }
    // Generations: old and x0 retired in 0, x1 and x2 in 1; now in 2.
    expect(m.get('old')).toBeUndefined();
    expect(m.get('x0')).toBeUndefined();
    expect(m.get('x1')?.n).toBe(3);
    expect(m.get('active')).toBe(active);
    for (let i = 0; i < 10; i++) r.retire({ retired: -1 });
    expect(m.get('active')).toBe(active);
    expect(m.get('x2')).toBeUndefined();
  });

  it('rejects a generation size below one', () => {
    expect(() => new Retirement(0)).toThrow(/perGeneration must be >= 1/);
  });
});
