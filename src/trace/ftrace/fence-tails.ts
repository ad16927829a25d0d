/**
 * Recent `dma_fence_*` lines from the event's name up to its seqno, for
 * trace-check's byte path: the events of one fence context repeat their
 * name and payload byte for byte but for the seqno at the end
 * (`dma_fence_signaled: driver=drm_sched timeline=gfx_0.0.0 context=1001 seqno=`),
 * so a line whose bytes up to its final digits equal those of a line read
 * in full has that line's event, context and names, and only its seqno is
 * read. This replaces the name look-up and the payload reader for most
 * fence lines.
 *
 * The same bytes give the same reading: the name, the payload's start and
 * every field but the seqno are read from bytes before the final digits,
 * and the seqno is those digits (`readFenceBytes` reads them the same way).
 *
 * @kernel include/trace/events/dma_fence.h (the `dma_fence` event class's TP_printk)
 */
import type { FencePayload } from './payload.ts';
import { sameBytesAt } from './text-bytes.ts';
import type { ByteRecord } from './text-bytes.ts';

/** One line's tail as read in full. */
export class FenceTail {
  bytes = new Uint8Array(128);
  view = new DataView(this.bytes.buffer);
  /** Bytes from the name to the seqno (0: empty slot). */
  len = 0;
  /** Where the name ends (its colon) and the payload starts, from the name's start. */
  nameLen = 0;
  payloadAt = 0;
  kind = 0;
  family = 0;
  context = 0;
  driver = '';
  timeline = '';
}

/** Entries (a power of two; two-way sets). */
const SLOTS = 256;
/** Shorter tails are not kept (`pick` reads ten bytes back from the seqno). */
const MIN_TAIL = 16;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Where the final digits of the line start (the line's end: none). */
function seqnoStart(r: ByteRecord): number {
  const b = r.bytes;
  let i = r.end;
  while (i > r.nameStart && isDigit(b[i - 1]!)) i--;
  return i;
}

/**
 * The set of a tail `[s, i)` (an even slot): its length, the event's
 * name (its eleventh byte tells `init` from `signaled`) and the context's
 * last digits before ` seqno=`.
 */
function pick(b: Uint8Array, s: number, i: number): number {
  const h = (i - s) * 7 + b[s + 10]! * 3 + b[i - 8]! * 5 + b[i - 9]! * 11 + b[i - 10]! * 13;
  return ((h ^ (h >>> 5)) & (SLOTS / 2 - 1)) << 1;
}

/**
 * The recent tails (see the file comment).
 *
 * @kernel none: a cache of the trace reader
 */
export class FenceTails {
  private readonly slots = Array.from({ length: SLOTS }, () => new FenceTail());

  /**
   * The tail of a line read in full that the record's line repeats, its
   * fields and the line's seqno put in `out`, and the name's end and the
   * payload's start in `r` (the same bytes read the same, so the name need
   * not be read: `parseTextBytes` may leave it); null if none.
   */
  find(r: ByteRecord, out: FencePayload): FenceTail | null {
    const s = r.nameStart;
    const i = seqnoStart(r);
    const n = i - s;
    if (i === r.end || n < MIN_TAIL) return null;
    const b = r.bytes;
    const set = pick(b, s, i);
    const slots = this.slots;
    let t = slots[set]!;
    if (t.len !== n || !sameBytesAt(r.view, s, t.view, n)) {
      const u = slots[set ^ 1]!;
      if (u.len !== n || !sameBytesAt(r.view, s, u.view, n)) return null;
      slots[set ^ 1] = t;
      slots[set] = u;
      t = u;
    }
    let seqno = 0;
    for (let k = i; k < r.end; k++) seqno = seqno * 10 + (b[k]! - 48);
    r.nameEnd = s + t.nameLen;
    r.payload = s + t.payloadAt;
    out.context = t.context;
    out.seqno = seqno;
    out.driver = t.driver;
    out.timeline = t.timeline;
    return t;
  }

  /**
   * Keep the tail of the record's line, just read in full as a fence event
   * of `kind` (its family `family`) with payload `p` (names only for inits).
   */
  keep(r: ByteRecord, kind: number, family: number, p: FencePayload): void {
    const s = r.nameStart;
    const i = seqnoStart(r);
    const n = i - s;
    if (i === r.end || n < MIN_TAIL) return;
    const set = pick(r.bytes, s, i);
    // The entry least recently found of the two gives way.
    const slots = this.slots;
    const t = slots[set ^ 1]!;
    slots[set ^ 1] = slots[set]!;
    slots[set] = t;
    if (n > t.bytes.length) {
      t.bytes = new Uint8Array(Math.max(n, 2 * t.bytes.length));
      t.view = new DataView(t.bytes.buffer);
    }
    t.bytes.set(r.bytes.subarray(s, i));
    t.len = n;
    t.nameLen = r.nameEnd - s;
    t.payloadAt = r.payload - s;
    t.kind = kind;
    t.family = family;
    t.context = p.context;
    t.driver = p.driver;
    t.timeline = p.timeline;
  }
}
