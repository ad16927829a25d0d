/**
 * Splitting a trace into lines, as text (`LineSplitter`) or as bytes
 * (`ByteLineSplitter`, which never decodes the lines it hands on). Lines end
 * at a newline; a carriage return before it is dropped, and so is a UTF-8
 * byte order mark before the first line (bytes only: a decoder drops it
 * from text).
 *
 * @kernel none: reading trace text (the kernel's `trace` and `trace_pipe` files are line-oriented)
 */
import { isAscii } from 'node:buffer';

/**
 * Splits chunks of text into lines (`\n`, with a trailing `\r` dropped) and
 * feeds them to `onLine` with 1-based line numbers; call `end()` for the
 * last line without a newline.
 *
 * @kernel none: see the file comment
 */
export class LineSplitter {
  private rest = '';
  private n = 0;

  constructor(private readonly onLine: (line: string, lineNo: number) => void) {}

  push(chunk: string): void {
    const text = this.rest ? this.rest + chunk : chunk;
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      this.onLine(text.slice(start, end), ++this.n);
      start = nl + 1;
    }
    this.rest = start < text.length ? text.slice(start) : '';
  }

  end(): void {
    if (this.rest) this.onLine(this.rest, ++this.n);
    this.rest = '';
  }
}

/**
 * Where `ByteLineSplitter` hands on the bytes of a line.
 *
 * @kernel none: see the file comment
 */
export type ByteLineSink = (
  b: Uint8Array,
  start: number,
  end: number,
  lineNo: number,
  ascii: boolean,
) => void;

/**
 * `LineSplitter` for bytes: splits chunks at `\n` (a trailing `\r`
 * dropped, a UTF-8 byte order mark before the first line too) without
 * decoding them, and tells `onLine` whether each line's chunk is ASCII.
 *
 * Two ways in. `push` takes chunks it does not own (a stream's): a line
 * split across two is copied into one piece. `pushOwned` serves a reader
 * that owns its buffer (`checkTraceFile`): it hands on the complete lines
 * and says where the incomplete last one starts, and the reader puts those
 * bytes in front of its next read, so no line is copied out and every line
 * is a view of the same array (the byte readers keep one `DataView` of it,
 * and see one array from start to end).
 *
 * @kernel none: see the file comment
 */
export class ByteLineSplitter {
  private rest: Uint8Array | null = null;
  private n = 0;
  /** `pushOwned`'s buffer and the plain `Uint8Array` view its lines go out in. */
  private owned: Buffer | null = null;
  private ownedView: Uint8Array = new Uint8Array(0);

  constructor(private readonly onLine: ByteLineSink) {}

  private emit(b: Uint8Array, start: number, nl: number, ascii: boolean): void {
    let s = start;
    if (this.n === 0 && nl - s >= 3 && b[s] === 0xef && b[s + 1] === 0xbb && b[s + 2] === 0xbf)
      s += 3;
    const end = nl > s && b[nl - 1] === 13 ? nl - 1 : nl;
    this.onLine(b, s, end, ++this.n, ascii);
  }

  push(input: Uint8Array): void {
    // The lines go out as a plain Uint8Array view of a Buffer chunk: every
    // byte reader then sees one array class (monomorphic loads). Newlines are
    // still found by the chunk's own `indexOf` (Buffer's is a native memchr).
    const chunk =
      input.constructor === Uint8Array
        ? input
        : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    let start = 0;
    if (this.rest !== null) {
      const nl = chunk.indexOf(10);
      const head = nl < 0 ? chunk : chunk.subarray(0, nl);
      const joined = new Uint8Array(this.rest.length + head.length);
      joined.set(this.rest);
      joined.set(head, this.rest.length);
      if (nl < 0) {
        this.rest = joined;
        return;
      }
      this.rest = null;
      this.emit(joined, 0, joined.length, isAscii(joined));
      start = nl + 1;
    }
    const ascii = isAscii(chunk);
    for (;;) {
      const nl = input.indexOf(10, start);
      if (nl < 0) break;
      this.emit(chunk, start, nl, ascii);
      start = nl + 1;
    }
    if (start < chunk.length) this.rest = chunk.slice(start);
  }

  /**
   * Hand on every complete line of `buf[start, end)` and return where the
   * incomplete last line starts (`end` when the bytes end with a newline).
   * The caller keeps those bytes and puts them in front of its next read;
   * after the last read, `endOwned` takes them. Not to be mixed with `push`
   * on one splitter.
   */
  pushOwned(buf: Buffer, start: number, end: number): number {
    if (buf !== this.owned) {
      this.owned = buf;
      this.ownedView = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    const view = this.ownedView;
    const ascii = isAscii(buf.subarray(start, end));
    let from = start;
    for (;;) {
      // Past `end` the buffer holds other bytes: a newline there is none.
      const nl = buf.indexOf(10, from);
      if (nl < 0 || nl >= end) break;
      this.emit(view, from, nl, ascii);
      from = nl + 1;
    }
    return from;
  }

  /** The last line, `buf[start, end)` without its newline, after the last `pushOwned`. */
  endOwned(buf: Buffer, start: number, end: number): void {
    if (end > start) this.push(buf.subarray(start, end));
    this.end();
  }

  end(): void {
    const rest = this.rest;
    this.rest = null;
    if (rest !== null && rest.length > 0) {
      // The last line, without its newline: nothing is dropped from its end.
      let s = 0;
      if (
        this.n === 0 &&
        rest.length >= 3 &&
        rest[0] === 0xef &&
        rest[1] === 0xbb &&
        rest[2] === 0xbf
      )
        s = 3;
      if (s < rest.length) this.onLine(rest, s, rest.length, ++this.n, isAscii(rest));
    }
  }
}
