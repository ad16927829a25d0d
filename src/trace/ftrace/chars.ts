/**
 * Character tests for the trace readers' hot paths. `String.prototype.startsWith`
 * with a position costs about 130 ns on a line cut from a larger chunk (a
 * sliced string) on Node 20, against about 20 ns for a loop over
 * `charCodeAt`; a 10^6-line trace makes several such tests per line.
 *
 * @kernel none (helpers of the trace readers)
 */

/** `s` holds `lit` at `pos` (as `s.startsWith(lit, pos)` for `pos >= 0`). */
export function startsAt(s: string, pos: number, lit: string): boolean {
  const n = lit.length;
  if (pos < 0 || pos + n > s.length) return false;
  for (let i = 0; i < n; i++) if (s.charCodeAt(pos + i) !== lit.charCodeAt(i)) return false;
  return true;
}
