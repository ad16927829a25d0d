/**
 * `trace-check`: read a real kernel trace of the `dma_fence` and
 * `gpu_scheduler` events in one pass, turn it into the model's typed events
 * and judge them with the rule book's consumers, the very code that judges
 * runs of the model (`FENCE_EVENT_RULES`, `SCHED_EVENT_RULES`). Adds what
 * only a trace has: the window (events before a fence's first init, fences
 * pending at the end, `[LOST N EVENTS]` gaps), malformed lines (reported
 * with their line numbers and skipped) and a per-context / per-ring summary.
 *
 * Memory is bounded by the live fences and jobs, not by the file: lines are
 * processed as they arrive, and events are kept only when a Chrome trace or
 * report is asked for (`collectEvents`).
 */
import { open } from 'node:fs/promises';
import type { EventFinding, EventRule, EventRuleOptions, FindingSink } from '../check/index.ts';
import { FENCE_EVENT_RULES, FenceTable, shareFenceTable } from '../fence/index.ts';
import type { KernelEvent, Splat } from '../kernel/index.ts';
import { SCHED_EVENT_RULES } from '../sched/index.ts';
import { TraceSummary } from './ftrace/latency.ts';
import { ByteLineSplitter, LineSplitter } from './lines.ts';
import type { ContextRow, RingRow } from './ftrace/latency.ts';
import { TraceNormaliser } from './ftrace/normalise.ts';
import type { RawRecord, TextLayout } from './ftrace/record.ts';
import { TextProtoReader } from './ftrace/textproto.ts';
import { HINT_SEQNO64, HINT_UNORDERED } from './ftrace/writer.ts';
import { commOfBytes, newByteRecord, parseTextBytes } from './ftrace/text-bytes.ts';
import {
  commOf,
  LINE_LOST,
  LINE_MALFORMED,
  LINE_RECORD,
  newTextRecord,
  parseTextLine,
} from './ftrace/text-line.ts';

/** Options of a trace check. */
export interface TraceCheckOptions {
  /** Report waits longer than this (ns); null: off. */
  readonly slowWaitNs?: number | null;
  /** Keep the typed events (for `--trace` / `--report`): memory then grows with the trace. */
  readonly collectEvents?: boolean;
}

/** A malformed line. */
export interface MalformedLine {
  readonly line: number;
  readonly reason: string;
}

/** Everything a check found. */
export interface TraceCheckResult {
  /** The container: `ftrace`, `trace_pipe`, `trace-cmd`, `perf script`, `systrace`, `perfetto textproto`, or `empty`. */
  readonly format: string;
  /** Records per text layout (ftrace with/without tgid, trace-cmd, perf, ...). */
  readonly layouts: Readonly<Record<string, number>>;
  /** Records per flags width (4 or 5 characters; 0 when absent). */
  readonly flagWidths: Readonly<Record<string, number>>;
  readonly lines: number;
  /** Records whose event trace-check reads. */
  readonly records: number;
  /** Records by event family (`dma_fence`, `gpu_scheduler 6.17`, `gpu_scheduler legacy`, `amdgpu`, ...). */
  readonly families: Readonly<Record<string, number>>;
  /** Records of events trace-check does not read, by name (counted, not errors). */
  readonly unknownEvents: Readonly<Record<string, number>>;
  /** Malformed lines (the first 1000) and how many there were. */
  readonly malformed: readonly MalformedLine[];
  readonly malformedCount: number;
  /** Findings, in the run's splat format: `step` is the line of the event that triggered it; `data.lines` every line involved. */
  readonly findings: readonly Splat[];
  readonly window: {
    /** Fence events whose fence was initialised before the trace began. */
    readonly unknownOriginEvents: number;
    /** Job events whose job was queued before the trace began. */
    readonly unknownJobEvents: number;
    readonly lost: readonly { line: number; cpu: number; lost: number }[];
    readonly pendingAtEnd: number;
  };
  readonly contexts: readonly ContextRow[];
  readonly rings: readonly RingRow[];
  readonly startNs: number;
  readonly endNs: number;
  /** The typed events (with `collectEvents`), else null. */
  readonly events: KernelEvent[] | null;
}

const MAX_MALFORMED = 1000;
/** Rules a gap in the trace can fool: their findings after a `[LOST N EVENTS]` say so. */
const GAP_SENSITIVE = new Set([
  'fence.context_out_of_order',
  'sched.run_before_dependency',
  'sched.job_out_of_order',
  'fence.wait_unfinished',
  'fence.seqno_not_after_signalled',
  'trace.fence_pending',
]);

function ms(ns: number): string {
  return `${Number((ns / 1e6).toFixed(3))} ms`;
}

/**
 * The checker's core: feed it lines in order (`line`), then `finish`. Never
 * throws on input: every line gets parsed, counted as unknown, or reported
 * as malformed.
 */
export class TraceChecker {
  private readonly norm: TraceNormaliser;
  private readonly rules: EventRule[] = [];
  private readonly byType = new Map<string, EventRule[]>();
  private readonly findings: Splat[] = [];
  private readonly malformedLines: MalformedLine[] = [];
  private malformedCount = 0;
  private readonly summary = new TraceSummary();
  private readonly rec = newTextRecord();
  /** The comm of the record being read (cut out only for a new pid). */
  private readonly comm = (): string => commOf(this.rec);
  /** The record of the byte path (`lineBytes`) and its comm. */
  private readonly brec = newByteRecord();
  private readonly bcomm = (): string => commOfBytes(this.brec);
  private readonly lineDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
  private runLayout: TextLayout = 'ftrace';
  private runFlags = 0;
  private runCount = 0;
  private readonly layouts: Record<string, number> = {};
  private readonly flagWidths: Record<string, number> = {};
  private mode: 'unknown' | 'text' | 'proto' = 'unknown';
  private proto: TextProtoReader | null = null;
  private header = false;
  private traceCmd = false;
  private lineCount = 0;
  private records = 0;
  private startNs = -1;
  private lastLine = 0;
  private firstGapLine = -1;
  private inRecord = false;
  private readonly events: KernelEvent[] | null;

  constructor(opts: TraceCheckOptions = {}) {
    this.events = opts.collectEvents ? [] : null;
    // The consumers share the normaliser's fence table: it resolves each event's fence once.
    const table = new FenceTable(true);
    const shared = new Map<string, unknown>();
    shareFenceTable(shared, table);
    const ruleOpts: EventRuleOptions = { slowWaitNs: opts.slowWaitNs ?? null, shared };
    const sink: FindingSink = {
      report: (f, e) => {
        this.report(f, e);
      },
    };
    // The consumers first: the normaliser resolves the consumers of each frequent type once.
    for (const make of [...FENCE_EVENT_RULES, ...SCHED_EVENT_RULES]) {
      const r = make(sink, ruleOpts);
      this.rules.push(r);
      for (const t of r.types) {
        const list = this.byType.get(t);
        if (list) list.push(r);
        else this.byType.set(t, [r]);
      }
    }
    this.norm = new TraceNormaliser(
      {
        event: (e) => {
          this.event(e);
        },
        of: (type) => this.consumersOf(type),
      },
      (line, reason) => {
        this.bad(line, reason);
      },
      this.summary,
      this.events !== null,
      table,
    );
  }

  private event(e: KernelEvent): void {
    if (this.startNs < 0 && e.type !== 'thread-spawn') this.startNs = e.tNs;
    this.events?.push(e);
    const list = this.byType.get(e.type);
    if (list) for (const r of list) r.event(e);
  }

  /**
   * `event` for events of one type (not `thread-spawn`), its consumers found
   * once (they are all made before the normaliser asks).
   */
  private consumersOf(type: KernelEvent['type']): (e: KernelEvent) => void {
    const consumers = this.byType.get(type) ?? [];
    const events = this.events;
    if (events !== null)
      return (e) => {
        if (this.startNs < 0) this.startNs = e.tNs;
        events.push(e);
        for (const r of consumers) r.event(e);
      };
    // One function per number of consumers, each call written out: a call
    // site then sees one consumer class (the lists of one length are the same
    // rules), and V8 can inline it, where one loop over every list saw them all.
    const [a, b, c, d] = consumers;
    switch (consumers.length) {
      case 0:
        return (e) => {
          if (this.startNs < 0) this.startNs = e.tNs;
        };
      case 1:
        return (e) => {
          if (this.startNs < 0) this.startNs = e.tNs;
          a!.event(e);
        };
      case 2:
        return (e) => {
          if (this.startNs < 0) this.startNs = e.tNs;
          a!.event(e);
          b!.event(e);
        };
      case 3:
        return (e) => {
          if (this.startNs < 0) this.startNs = e.tNs;
          a!.event(e);
          b!.event(e);
          c!.event(e);
        };
      case 4:
        return (e) => {
          if (this.startNs < 0) this.startNs = e.tNs;
          a!.event(e);
          b!.event(e);
          c!.event(e);
          d!.event(e);
        };
      default:
        return (e) => {
          if (this.startNs < 0) this.startNs = e.tNs;
          for (const r of consumers) r.event(e);
        };
    }
  }

  private bad(line: number, reason: string): void {
    // A record whose payload does not read is a malformed line, not a record.
    if (this.inRecord) {
      this.records--;
      this.inRecord = false;
    }
    this.malformedCount++;
    if (this.malformedLines.length < MAX_MALFORMED) this.malformedLines.push({ line, reason });
  }

  private report(f: EventFinding, e: KernelEvent | null): void {
    const thread =
      f.thread === null
        ? null
        : typeof f.thread === 'string'
          ? f.thread
          : e
            ? this.norm.threadNameOf(e.tid)
            : null;
    const line = e ? e.step : this.lastLine;
    const gap =
      this.firstGapLine >= 0 &&
      this.firstGapLine <= Math.max(...f.at, line) &&
      GAP_SENSITIVE.has(f.rule);
    const splat: Splat = {
      rule: f.rule,
      severity: f.severity,
      headline: f.headline,
      body: gap
        ? `${f.body}\nNote: events were lost before this point ([LOST N EVENTS] at line ${this.firstGapLine}); this finding may come from the gap.`
        : f.body,
      thread,
      timeNs: e ? e.tNs : this.norm.endNs,
      step: line,
      data: { ...f.data, lines: [...f.at], ...(gap ? { afterGap: true } : {}) },
    };
    this.findings.push(splat);
    if (this.events)
      this.events.push({
        type: 'splat',
        tNs: splat.timeNs,
        step: line,
        tid: e?.tid ?? 0,
        rule: f.rule,
        headline: f.headline,
      });
  }

  /** One line of the input (1-based `lineNo`). */
  line(text: string, lineNo: number): void {
    this.lineCount = lineNo;
    this.lastLine = lineNo;
    if (text.charCodeAt(0) === 35 /* # */ && text.startsWith('# dmabuf-lab ')) this.hint(text);
    if (this.mode === 'unknown') {
      const t = text.trim();
      if (t === '' || t.startsWith('#')) {
        if (t.startsWith('# tracer:')) this.header = true;
        return;
      }
      if (/^[A-Za-z_]\w*\s*:?\s*[{<]$/.test(t)) {
        this.mode = 'proto';
        this.proto = new TextProtoReader(
          (r) => {
            this.protoRecord(r);
          },
          (line, reason) => {
            this.bad(line, reason);
          },
        );
      } else this.mode = 'text';
    }
    if (this.mode === 'proto') {
      this.proto!.line(text, lineNo);
      return;
    }
    const r = this.rec;
    const kind = parseTextLine(text, lineNo, r);
    if (kind === LINE_RECORD) {
      this.records++;
      // Layout and flags width repeat from line to line: count runs, fold them in when they change.
      if (r.layout !== this.runLayout || r.flagsLen !== this.runFlags) this.foldRun(r);
      this.runCount++;
      this.inRecord = true;
      this.norm.record(r, this.comm);
      this.inRecord = false;
    } else if (kind === LINE_MALFORMED) {
      this.bad(lineNo, r.reason);
    } else if (kind === LINE_LOST) {
      if (this.firstGapLine < 0) this.firstGapLine = lineNo;
      this.norm.lostEvents(lineNo, r.cpu, r.lost, this.norm.endNs);
    } else if (lineNo <= 3) {
      const t = text.trimStart();
      if (t.startsWith('# tracer:')) this.header = true;
      if (t.startsWith('cpus=') || t.startsWith('version')) this.traceCmd = true;
    }
  }

  /**
   * One line as bytes, `b[start, end)` (1-based `lineNo`); `ascii`: the
   * bytes are ASCII. The records of the frequent events are read from the
   * bytes (`parseTextBytes`, `TraceNormaliser.recordBytes`) with no string
   * made for the line; every other line is decoded and read by `line`,
   * with the same result.
   */
  lineBytes(b: Uint8Array, start: number, end: number, lineNo: number, ascii: boolean): void {
    if (ascii && this.mode === 'text') {
      const r = this.brec;
      if (parseTextBytes(b, start, end, lineNo, r) === LINE_RECORD) {
        this.lineCount = lineNo;
        this.lastLine = lineNo;
        if (this.norm.recordBytes(r, this.bcomm)) {
          this.records++;
          if (r.layout !== this.runLayout || r.flagsLen !== this.runFlags) this.foldRun(r);
          this.runCount++;
          return;
        }
      }
    }
    this.line(this.lineDecoder.decode(b.subarray(start, end)), lineNo);
  }

  /** Fold the current run of one layout and flags width into the counts; start one for `r`. */
  private foldRun(r: { layout: TextLayout; flagsLen: number } | null): void {
    if (this.runCount > 0) {
      const l = this.runLayout;
      const w = String(this.runFlags);
      this.layouts[l] = (this.layouts[l] ?? 0) + this.runCount;
      this.flagWidths[w] = (this.flagWidths[w] ?? 0) + this.runCount;
    }
    this.runCount = 0;
    if (r) {
      this.runLayout = r.layout;
      this.runFlags = r.flagsLen;
    }
  }

  /** The writer's comment lines naming 64-bit and unordered contexts. */
  private hint(text: string): void {
    const set = text.startsWith(HINT_SEQNO64)
      ? this.norm.seqno64Contexts
      : text.startsWith(HINT_UNORDERED)
        ? this.norm.unorderedContexts
        : null;
    if (!set) return;
    for (const w of text
      .slice(text.indexOf(':') + 1)
      .trim()
      .split(/\s+/))
      if (/^\d+$/.test(w)) set.add(Number(w));
  }

  private protoRecord(r: RawRecord): void {
    this.records++;
    this.layouts.perfetto = (this.layouts.perfetto ?? 0) + 1;
    this.inRecord = true;
    this.norm.record(r, () => '');
    this.inRecord = false;
  }

  private format(): string {
    this.foldRun(null);
    if (this.mode === 'proto') return 'perfetto textproto';
    if (this.records === 0 && this.mode === 'unknown') return 'empty';
    const top = Object.entries(this.layouts).sort((a, b) => b[1] - a[1])[0]?.[0] as
      TextLayout | undefined;
    if (top === 'perf') return 'perf script';
    if (top === 'systrace') return 'systrace (Perfetto export)';
    if (this.traceCmd || top === 'trace-cmd' || top === 'trace-cmd-latency')
      return 'trace-cmd report';
    if (this.header) return 'ftrace (tracing/trace)';
    return 'ftrace (trace_pipe)';
  }

  /** End of input: end-of-stream rules, window effects, the result. */
  finish(): TraceCheckResult {
    this.foldRun(null);
    this.proto?.end(this.lineCount);
    const endNs = this.norm.endNs;
    for (const r of this.rules) r.end?.(endNs);
    const pending = this.norm.pendingFences();
    if (pending.length > 0) {
      const shown = pending.slice(0, 32);
      this.report(
        {
          rule: 'trace.fence_pending',
          severity: 'info',
          headline: `INFO: ${pending.length} fence${pending.length > 1 ? 's' : ''} still pending at the end of the trace`,
          body:
            'Initialised in the trace and not signalled by its end (a warning, not a proof: the capture may have stopped first). Oldest first, with their age at the end:\n' +
            shown
              .map(
                (p) =>
                  `  ${p.driver}:${p.timeline}:${p.context}:${p.seqno} initialised at line ${p.line} by ${p.thread}, pending for ${ms(endNs - p.initNs)}`,
              )
              .join('\n') +
            (pending.length > shown.length
              ? `\n  ... and ${pending.length - shown.length} more`
              : ''),
          at: shown.map((p) => p.line),
          thread: null,
          data: {
            fences: pending.slice(0, 1000).map((p) => ({
              context: p.context,
              seqno: p.seqno,
              driver: p.driver,
              timeline: p.timeline,
              line: p.line,
              ageNs: endNs - p.initNs,
            })),
          },
        },
        null,
      );
    }
    const lost = this.norm.stats.lost;
    if (lost.length > 0) {
      const total = lost.reduce((a, l) => a + l.lost, 0);
      this.report(
        {
          rule: 'trace.lost_events',
          severity: 'info',
          headline: `INFO: ${total} events lost in ${lost.length} gap${lost.length > 1 ? 's' : ''} (ring buffer overflow)`,
          body:
            lost.map((l) => `  line ${l.line}: CPU ${l.cpu} lost ${l.lost} events`).join('\n') +
            '\nRules that need every event (signal order, queue -> run -> done, waits, pending fences) may be fooled by a gap: their findings after it say so.',
          at: lost.map((l) => l.line),
          thread: null,
          data: { gaps: lost },
        },
        null,
      );
    }
    this.norm.flushStats();
    const stats = this.norm.stats;
    return {
      format: this.format(),
      layouts: this.layouts,
      flagWidths: this.flagWidths,
      lines: this.lineCount,
      records: this.records,
      families: Object.fromEntries(stats.families),
      unknownEvents: Object.fromEntries([...stats.unknown].sort((a, b) => b[1] - a[1])),
      malformed: this.malformedLines,
      malformedCount: this.malformedCount,
      findings: this.findings,
      window: {
        unknownOriginEvents: stats.unknownOrigin,
        unknownJobEvents: stats.unknownJobs,
        lost,
        pendingAtEnd: pending.length,
      },
      contexts: this.summary.contextRows(),
      rings: this.summary.ringRows(),
      startNs: Math.max(0, this.startNs),
      endNs,
      events: this.events,
    };
  }
}

/** Check a whole trace given as text (tests, small inputs). */
export function checkTraceText(text: string, opts: TraceCheckOptions = {}): TraceCheckResult {
  const c = new TraceChecker(opts);
  const s = new LineSplitter((l, n) => {
    c.line(l, n);
  });
  s.push(text);
  s.end();
  return c.finish();
}

/** Check a trace read from a stream of text (a file or stdin), in one pass. */
export async function checkTraceStream(
  input: AsyncIterable<string | Uint8Array>,
  opts: TraceCheckOptions = {},
): Promise<TraceCheckResult> {
  const c = new TraceChecker(opts);
  const s = byteLines(c);
  for await (const chunk of input)
    s.push(typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk);
  s.end();
  return c.finish();
}

/** Bytes read from a trace file at a time (`checkTraceFile`). */
const FILE_CHUNK = 1 << 20;
/** Room before each read for the incomplete line of the read before (grown for a longer line). */
const FILE_CARRY = 1 << 16;

/** A byte splitter that hands its lines to `c`. */
function byteLines(c: TraceChecker): ByteLineSplitter {
  // Read as bytes: the frequent lines are never decoded (see `TraceChecker.lineBytes`).
  return new ByteLineSplitter((b, start, end, n, ascii) => {
    c.lineBytes(b, start, end, n, ascii);
  });
}

/**
 * Check the trace file at `path` in one pass. What `dmabuf-lab trace-check
 * FILE` runs.
 *
 * The file is read into two halves of one buffer, in turns: while the lines
 * of one half are checked, the next read fills the other, and the
 * incomplete last line of a half is moved in front of the next half's bytes
 * (`pushOwned`). So reading overlaps checking, no memory is allocated per
 * read (a stream reads each chunk into fresh memory: on a 10^6-line trace,
 * faulting in those pages cost more than the reading), no line is copied
 * out, and every line is a view of the same array.
 */
export async function checkTraceFile(
  path: string,
  opts: TraceCheckOptions = {},
  /** Bytes per read (tests use small ones: lines then cross reads and outgrow the room for them). */
  readBytes = FILE_CHUNK,
): Promise<TraceCheckResult> {
  if (!Number.isInteger(readBytes) || readBytes < 1)
    throw new RangeError(`checkTraceFile: readBytes must be a positive integer, not ${readBytes}`);
  const c = new TraceChecker(opts);
  const s = byteLines(c);
  const f = await open(path, 'r');
  // A Buffer: newlines are found with Buffer's native indexOf. Half h holds
  // `carry` bytes of room, then `readBytes` bytes read.
  let carry = Math.min(FILE_CARRY, readBytes);
  let half = carry + readBytes;
  let buf = Buffer.allocUnsafeSlow(2 * half);
  const readInto = (h: number) => f.read(buf, h * half + carry, readBytes, null);
  let next = readInto(0);
  try {
    let h = 0;
    let kept = 0; // bytes of an incomplete line, at the end of half 1 - h
    let keptAt = 0;
    for (;;) {
      const { bytesRead } = await next;
      if (bytesRead === 0) break;
      let start = h * half + carry - kept;
      if (kept > carry) {
        // A line longer than the room: make more, for it and for every later read.
        const old = buf;
        const data = Buffer.from(old.subarray(h * half + carry, h * half + carry + bytesRead));
        carry = 2 * kept;
        half = carry + readBytes;
        buf = Buffer.allocUnsafeSlow(2 * half);
        start = h * half + carry - kept;
        old.copy(buf, start, keptAt, keptAt + kept);
        data.copy(buf, h * half + carry);
      } else if (kept > 0) buf.copy(buf, start, keptAt, keptAt + kept);
      const end = h * half + carry + bytesRead;
      next = readInto(1 - h);
      keptAt = s.pushOwned(buf, start, end);
      kept = end - keptAt;
      h = 1 - h;
    }
    s.endOwned(buf, keptAt, keptAt + kept);
  } finally {
    // A read may still be in flight if checking threw: let it finish, whatever it gives.
    await next.catch(() => undefined);
    await f.close();
  }
  return c.finish();
}
