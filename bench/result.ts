/**
 * One measured figure of `npm run bench`. `baseline` is the reference it is
 * compared with in the same run (e.g. the bare async-function rate) and
 * `ratio` = value / baseline.
 */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
  note?: string;
}

/** Median of a few samples (benchmarks repeat each measurement). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Wall-clock ms of `fn` (benchmarks may use host clocks; the model may not). */
export async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}
