/**
 * xoshiro128** (Blackman and Vigna, 2018) seeded through splitmix32: a small,
 * well-known generator with a 2^128 - 1 period, fast in 32-bit JavaScript
 * arithmetic. Every random decision of a run comes from one of these, so a
 * seed determines the run.
 *
 * @kernel none: the seeded source of a run's choices
 */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
  }

  /** Next 32-bit unsigned value. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform integer in [0, n). */
  below(n: number): number {
    if (n <= 1) return 0;
    // Multiply-shift keeps the bias below 2^-32 / n for the small n used here.
    return Math.floor((this.nextU32() / 0x1_0000_0000) * n);
  }

  /** Uniform float in [0, 1). */
  unit(): number {
    return this.nextU32() / 0x1_0000_0000;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
