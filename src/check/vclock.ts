/**
 * Vector clocks as dense arrays of small integers indexed by slot (one slot
 * per simulated thread or context; slot 0 unused). Missing entries are 0.
 * The race detector keeps one per thread and per sync object; accesses keep
 * only an epoch (slot, clock), FastTrack's O(1) representation.
 *
 * @kernel none: ThreadSanitizer / FastTrack (Flanagan & Freund, PLDI 2009) vector clocks
 */
export type VClock = number[];

/**
 * `a := a ⊔ b` (entry-wise maximum); grows `a` as needed.
 *
 * @kernel none: vector clocks of the race detector
 */
export function vcJoin(a: VClock, b: VClock): void {
  const n = b.length;
  while (a.length < n) a.push(0);
  for (let i = 1; i < n; i++) {
    const v = b[i]!;
    if (v > a[i]!) a[i] = v;
  }
}

/**
 * A copy of `a`.
 *
 * @kernel none: vector clocks of the race detector
 */
export function vcCopy(a: VClock): VClock {
  return a.slice();
}

/**
 * `vc[slot]`, 0 when absent.
 *
 * @kernel none: vector clocks of the race detector
 */
export function vcGet(vc: VClock, slot: number): number {
  return slot < vc.length ? vc[slot]! : 0;
}

/**
 * Set `vc[slot] = v`, growing `vc` as needed.
 *
 * @kernel none: vector clocks of the race detector
 */
export function vcSet(vc: VClock, slot: number, v: number): void {
  while (vc.length <= slot) vc.push(0);
  vc[slot] = v;
}
