/**
 * Perfetto traces in protobuf text format (`packet { ftrace_events { cpu: N
 * event { timestamp: T pid: P dma_fence_init { context: 1 driver: "msm" ... } } } }`),
 * one field or brace per line as Perfetto writes them. Each ftrace event
 * becomes a record whose payload is its fields in Perfetto's `key=value`
 * export form, so the payload readers of the text containers serve it too.
 * Packets other than ftrace bundles are skipped.
 */
import type { RawRecord } from './record.ts';

interface Frame {
  readonly name: string;
  readonly line: number;
}

/** Streaming reader: feed lines in order, records come out as each `event { }` closes. */
export class TextProtoReader {
  private readonly stack: Frame[] = [];
  private cpu = -1;
  private timestamp = 0;
  private pid = -1;
  private eventName = '';
  private eventLine = 0;
  private fields: string[] = [];

  constructor(
    private readonly onRecord: (r: RawRecord) => void,
    private readonly malformed: (line: number, reason: string) => void,
  ) {}

  private depthOf(name: string): number {
    for (let i = this.stack.length - 1; i >= 0; i--) if (this.stack[i]!.name === name) return i;
    return -1;
  }

  line(text: string, lineNo: number): void {
    const t = text.trim();
    if (t === '' || t.startsWith('#')) return;
    if (t === '}' || t === '>') {
      const top = this.stack.pop();
      if (!top) {
        this.malformed(lineNo, 'closing brace without an open block');
        return;
      }
      if (top.name === 'event') this.closeEvent(lineNo);
      else if (top.name === 'ftrace_events') this.cpu = -1;
      return;
    }
    if (t.endsWith('{') || t.endsWith('<')) {
      const name = t.slice(0, -1).trim().replace(/:$/, '').trim();
      if (!/^[A-Za-z_][\w.]*$/.test(name)) {
        this.malformed(lineNo, `not a text-proto block: ${t.slice(0, 60)}`);
        this.stack.push({ name: '?', line: lineNo });
        return;
      }
      const top = this.stack[this.stack.length - 1];
      if (name === 'event' && top?.name === 'ftrace_events') {
        this.timestamp = 0;
        this.pid = -1;
        this.eventName = '';
        this.fields = [];
      } else if (top?.name === 'event') {
        this.eventName = name;
        this.eventLine = lineNo;
      }
      this.stack.push({ name, line: lineNo });
      return;
    }
    const colon = t.indexOf(':');
    if (colon <= 0) {
      this.malformed(lineNo, `not a text-proto field: ${t.slice(0, 60)}`);
      return;
    }
    const key = t.slice(0, colon).trim();
    let value = t.slice(colon + 1).trim();
    if (value.startsWith('"')) {
      if (!value.endsWith('"') || value.length < 2) {
        this.malformed(lineNo, 'unterminated string');
        return;
      }
      value = value.slice(1, -1).replace(/\\(.)/g, '$1');
    }
    const top = this.stack[this.stack.length - 1]?.name;
    if (top === 'ftrace_events' && key === 'cpu') this.cpu = Number(value);
    else if (top === 'event') {
      if (key === 'timestamp') this.timestamp = Number(value);
      else if (key === 'pid') this.pid = Number(value);
    } else if (this.eventName && this.depthOf('event') === this.stack.length - 2) {
      this.fields.push(`${key}=${value.replace(/ /g, '_')}`);
    }
  }

  private closeEvent(lineNo: number): void {
    if (!this.eventName) return;
    if (!Number.isFinite(this.timestamp)) {
      this.malformed(lineNo, 'event without a numeric timestamp');
      return;
    }
    const name = this.eventName;
    const line = `${name}: ${this.fields.join(' ')}`;
    this.onRecord({
      line,
      lineNo: this.eventLine,
      comm: '',
      pid: Number.isFinite(this.pid) ? this.pid : -1,
      cpu: this.cpu,
      tNs: this.timestamp,
      nameStart: 0,
      nameEnd: name.length,
      payload: name.length + 2,
    });
    this.eventName = '';
  }

  /** Blocks still open at the end (a truncated file). */
  end(lastLine: number): void {
    if (this.stack.length > 0)
      this.malformed(
        lastLine,
        `the file ends inside ${this.stack.length} open block(s) (from line ${this.stack[0]!.line})`,
      );
  }
}
