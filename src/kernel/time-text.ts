/**
 * Virtual time for people: `0 ns`, `850 ns`, `1.5 µs`, `2 ms`, `3600 s`
 * (three decimals at most). Every report, summary and splat uses it, so a
 * run reads in one unit family; exact nanoseconds stay in `--json` and in
 * the trace's `vt_ns`.
 *
 * @kernel no counterpart (the kernel prints `[ sec.usec]` timestamps; the model's time is virtual)
 */
export function formatNs(ns: number): string {
  if (ns >= 1e9) return `${trimZeros((ns / 1e9).toFixed(3))} s`;
  if (ns >= 1e6) return `${trimZeros((ns / 1e6).toFixed(3))} ms`;
  if (ns >= 1e3) return `${trimZeros((ns / 1e3).toFixed(3))} µs`;
  return `${ns} ns`;
}

function trimZeros(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}
