/**
 * Chrome Trace Event JSON from the kernel event stream, shaped for Perfetto
 * UI (which reads JSON best-effort) and chrome://tracing:
 *
 * - one process; one track (tid) per simulated thread or IRQ/softirq
 *   context, plus a `kernel` track for what the scheduler does between
 *   threads (timers, virtual time); `M` events name them;
 * - `X` slices on a thread's track while it runs and while it is blocked
 *   (they alternate, so they nest trivially);
 * - lock hold intervals as async `b`/`e` pairs with one id per hold: holds
 *   overlap without nesting (A, B, unlock A, unlock B), which `X`/`B`/`E`
 *   on one track cannot express;
 * - splats as global instants (`i`, `s: "g"`) carrying the report body;
 * - flows (`s`/`f`, bound to the enclosing slices) from a wake-up to the
 *   woken thread's next run, from a spawn to the child's first run, and
 *   between any events whose payloads carry `flowOut` / `flowIn` ids;
 * - every other event type (other layers add their own) as an instant on the
 *   track of the thread that emitted it, with its payload as args; the
 *   intervals and causal links of known event types (scheduler jobs, work
 *   items, fence waits; signal to callback and waiter) come from known.ts.
 *
 * Time: `ts` is in µs, virtual ns / 1000. Many events share one virtual
 * instant (virtual time advances only when every thread sleeps), so each
 * event also adds `spacingNs` (default 100 ns) of display time: events keep
 * their order and slices get a width. Exact virtual time is in `args.vt_ns`;
 * `spacingNs: 0` gives pure virtual time.
 */
import { formatReportStack } from '../kernel/index.ts';
import type { KernelEvent, Splat } from '../kernel/index.ts';
import { FLOW_RULES, SPAN_RULES } from './known.ts';

/** One Chrome Trace Event (the subset this writer emits). */
export interface TraceEvent {
  name: string;
  ph: 'X' | 'i' | 'b' | 'e' | 's' | 'f' | 'M' | 'C';
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  cat?: string;
  id?: number;
  s?: 'g' | 'p' | 't';
  bp?: 'e';
  args?: Record<string, unknown>;
}

/** The JSON object format: events plus display unit and run metadata. */
export interface ChromeTrace {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ns' | 'ms';
  otherData: Record<string, unknown>;
}

/** Options of `toChromeTrace`. */
export interface ChromeTraceOptions {
  /** Process name shown in the UI (default `dmabuf-lab`). */
  title?: string;
  /** The run's splats, in report order: their bodies go into the splat instants. */
  splats?: readonly Splat[];
  /** Display ns added per event (default 100; 0 = pure virtual time). */
  spacingNs?: number;
  /** Extra run metadata for `otherData` (scenario, seed, replay command). */
  metadata?: Record<string, unknown>;
}

/** The trace process id. */
export const TRACE_PID = 1;
/** Track of scheduler activity outside any thread (timers, virtual time). */
export const KERNEL_TID = 1;

/** Trace tid of kernel thread id `id` (tid 0 would be folded into the pid by Perfetto). */
function tidOf(id: number): number {
  return id + 1;
}

interface Open {
  name: string;
  cat: string;
  start: number;
  args: Record<string, unknown>;
}

/** Builds the trace from a complete event list (two kinds of state: tracks and open intervals). */
class Builder {
  readonly out: TraceEvent[] = [];
  private readonly spacing: number;
  private readonly names = new Map<number, string>(); // trace tid → name
  private readonly tidByName = new Map<string, number>();
  private readonly contexts = new Map<number, string>();
  private spawned = 0;
  private running: number | null = null; // trace tid with an open run slice
  private readonly runSlice = new Map<number, Open>();
  private readonly blocked = new Map<number, Open>();
  private readonly holds = new Map<string, number[]>(); // tid+lock → hold ids (stack)
  private readonly holdStart = new Map<number, TraceEvent>();
  private nextHold = 1;
  private nextFlow = 1;
  private readonly pendingIn = new Map<number, { name: string; tid: number; ts: number }[]>(); // flows waiting for a run slice
  private readonly flowSources = new Map<string, { tid: number; ts: number }>();
  private splatIndex = 0;
  private lastTs = 0;
  /** Open fences (init seen, signal not yet): fence id → async slice id. */
  private readonly fences = new Map<number, number>();
  /** What the running thread last did that wakes others (a signal, an unlock), to name wake flows. */
  private readonly cause = new Map<number, { step: number; what: string }>();

  constructor(private readonly opts: ChromeTraceOptions) {
    this.spacing = opts.spacingNs ?? 100;
    this.names.set(KERNEL_TID, 'kernel (scheduler, timers)');
  }

  build(events: readonly KernelEvent[]): void {
    for (let i = 0; i < events.length; i++) this.event(events[i]!, i);
    const end = round(this.lastTs + this.spacing / 1000);
    this.closeAll(end);
  }

  private ts(e: KernelEvent, i: number): number {
    return round((e.tNs + i * this.spacing) / 1000);
  }

  private tidFor(name: string | null): number {
    if (name === null) return KERNEL_TID;
    return this.tidByName.get(name) ?? KERNEL_TID;
  }

  private nameThread(tid: number, name: string): void {
    if (!this.names.has(tid)) this.names.set(tid, name);
    if (!this.tidByName.has(name)) this.tidByName.set(name, tid);
  }

  private event(e: KernelEvent, i: number): void {
    const ts = this.ts(e, i);
    this.lastTs = ts;
    const src = e.tid === 0 ? KERNEL_TID : tidOf(e.tid);
    const vt = { vt_ns: e.tNs, step: e.step };
    // Other layers add event types; those not named here take the generic path.
    // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check
    switch (e.type) {
      case 'thread-spawn': {
        // Thread ids are assigned in creation order from 1.
        const tid = tidOf(++this.spawned);
        this.nameThread(tid, e.thread);
        this.contexts.set(tid, e.context);
        this.instant(src, ts, `spawn ${e.thread}`, 'thread', { ...vt, context: e.context });
        this.flowOutAt(src, ts, 'spawn', tid);
        break;
      }
      case 'switch': {
        const tid = tidOf(e.tid);
        this.nameThread(tid, e.to);
        this.endRun(ts);
        this.runSlice.set(tid, {
          name: e.op === 'start' ? 'start' : `after ${e.op}`,
          cat: 'run',
          start: ts,
          args: { ...vt },
        });
        this.running = tid;
        for (const f of this.pendingIn.get(tid) ?? []) this.flow(f, tid, ts, f.name);
        this.pendingIn.delete(tid);
        break;
      }
      case 'block': {
        const tid = this.tidFor(e.thread);
        if (this.running === tid) this.endRun(ts);
        this.blocked.set(tid, {
          name: `blocked in ${e.op}`,
          cat: 'blocked',
          start: ts,
          args: { ...vt, on: e.on },
        });
        break;
      }
      case 'wake': {
        const tid = this.tidFor(e.thread);
        this.close(this.blocked, tid, ts, { reason: e.reason });
        const c = this.cause.get(src);
        const by =
          e.reason === 'woken' && c?.step === e.step
            ? c.what
            : e.reason === 'woken'
              ? 'wake'
              : e.reason;
        this.instant(src, ts, `wake ${e.thread}`, 'sched', { ...vt, reason: e.reason, by });
        this.flowOutAt(src, ts, by, tid);
        break;
      }
      case 'thread-exit': {
        const tid = this.tidFor(e.thread);
        if (this.running === tid) this.endRun(ts);
        this.instant(tid, ts, `exit ${e.code}`, 'thread', { ...vt, code: e.code });
        break;
      }
      case 'lock-acquire': {
        const id = this.nextHold++;
        const key = `${src}\u0000${e.lock}`;
        const stack = this.holds.get(key);
        if (stack) stack.push(id);
        else this.holds.set(key, [id]);
        const b: TraceEvent = {
          name: e.lock,
          ph: 'b',
          cat: 'lock',
          id,
          pid: TRACE_PID,
          tid: src,
          ts,
          args: {
            ...vt,
            class: e.cls,
            read: e.read,
            trylock: e.trylock,
            holder: this.names.get(src) ?? null,
          },
        };
        this.holdStart.set(id, b);
        this.out.push(b);
        break;
      }
      case 'lock-release': {
        this.cause.set(src, { step: e.step, what: `unlock ${e.lock}` });
        const id = this.holds.get(`${src}\u0000${e.lock}`)?.pop();
        if (id === undefined)
          this.instant(src, ts, `release of unheld ${e.lock}`, 'lock', { ...vt, class: e.cls });
        else this.endHold(id, ts);
        break;
      }
      case 'splat': {
        const full = this.opts.splats?.[this.splatIndex++];
        this.out.push({
          name: e.headline,
          ph: 'i',
          s: 'g',
          cat: 'splat',
          pid: TRACE_PID,
          tid: src,
          ts,
          args: {
            ...vt,
            rule: e.rule,
            thread: full ? full.thread : (this.names.get(src) ?? null),
            body: full?.body ?? '',
            ...(full?.stacks?.length
              ? { backtraces: full.stacks.map((st) => formatReportStack(st)).join('\n') }
              : {}),
          },
        });
        break;
      }
      case 'run-end':
        this.endRun(ts);
        this.instant(KERNEL_TID, ts, `run end: ${e.reason}`, 'sched', {
          ...vt,
          reason: e.reason,
          steps: e.steps,
        });
        break;
      default:
        this.generic(e, src, ts);
    }
  }

  /**
   * A fence context's track: one async slice per fence from init to signal
   * (grouped by name, so Perfetto shows one track per context), with the
   * error of a fence that signals with one.
   */
  private fence(type: string, p: Record<string, unknown>, src: number, ts: number): void {
    const fence = typeof p.fence === 'number' ? p.fence : -1;
    if (type === 'fence-init') {
      const id = this.nextHold++;
      const b: TraceEvent = {
        name: `fences: context ${String(p.context)} (${String(p.driver)} ${String(p.timeline)})`,
        ph: 'b',
        cat: 'fence',
        id,
        pid: TRACE_PID,
        tid: src,
        ts,
        args: { seqno: p.seqno, fence, context: p.context },
      };
      this.holdStart.set(id, b);
      this.out.push(b);
      this.fences.set(fence, id);
    } else if (type === 'fence-signal') {
      this.cause.set(src, { step: -1, what: `signal ${String(p.context)}:${String(p.seqno)}` });
      const id = this.fences.get(fence);
      if (id === undefined) return;
      this.fences.delete(fence);
      const err = typeof p.error === 'number' ? p.error : 0;
      const b = this.holdStart.get(id)!;
      b.args = { ...b.args, signalled_vt_ns: p.timestampNs, ...(err ? { error: err } : {}) };
      this.endHold(id, ts);
    } else if (type === 'fence-destroy' && p.signalled === false) {
      const id = this.fences.get(fence);
      if (id === undefined) return;
      this.fences.delete(fence);
      this.holdStart.get(id)!.args!.destroyedUnsignalled = true;
      this.endHold(id, ts);
    }
  }

  /** Any other event: an instant named after its type, payload as args, generic flows. */
  private generic(e: KernelEvent, src: number, ts: number): void {
    const { type, tNs, step, tid: _tid, ...payload } = e as KernelEvent & Record<string, unknown>;
    if (type.startsWith('fence-')) {
      this.fence(type, payload, src, ts);
      // the signal's step, for naming the wake-ups it causes
      if (type === 'fence-signal') this.cause.get(src)!.step = step;
    }
    const label = describe(type, payload);
    this.instant(src, ts, label, type.split('-')[0] ?? type, { vt_ns: tNs, step, ...payload });
    // Revocation and invalidation also as process-wide instants: they reach every importer.
    if (type === 'dmabuf-revoke' || type === 'dmabuf-move-notify')
      this.out.push({
        name: label,
        ph: 'i',
        s: 'p',
        cat: 'dmabuf',
        pid: TRACE_PID,
        tid: src,
        ts,
        args: { vt_ns: tNs, step, ...payload },
      });
    const out = payload.flowOut;
    if (typeof out === 'string' || typeof out === 'number')
      this.flowSources.set(String(out), { tid: src, ts });
    const inn = payload.flowIn;
    if (typeof inn === 'string' || typeof inn === 'number') {
      const from = this.flowSources.get(String(inn));
      if (from) this.flow(from, src, ts, type);
    }
    this.known(type, payload, src, ts);
  }

  /** Spans and flows of event types other layers define (see known.ts). */
  private known(type: string, p: Record<string, unknown>, src: number, ts: number): void {
    for (const r of SPAN_RULES) {
      if (type === r.begin) {
        const id = this.nextHold++;
        const key = `${r.begin}\u0000${r.key(p)}`;
        const stack = this.holds.get(key);
        if (stack) stack.push(id);
        else this.holds.set(key, [id]);
        const b: TraceEvent = {
          name: r.group(p),
          ph: 'b',
          cat: r.begin,
          id,
          pid: TRACE_PID,
          tid: src,
          ts,
          args: { label: r.label(p), ...p },
        };
        this.holdStart.set(id, b);
        this.out.push(b);
      } else if (type === r.end) {
        const id = this.holds.get(`${r.begin}\u0000${r.key(p)}`)?.pop();
        if (id !== undefined) this.endHold(id, ts);
      }
    }
    for (const r of FLOW_RULES) {
      if (type === r.from)
        this.flowSources.set(`${r.name}:${r.from}\u0000${r.key(p)}`, { tid: src, ts });
      else if (r.to.includes(type) && (r.accept?.(p) ?? true)) {
        const from = this.flowSources.get(`${r.name}:${r.from}\u0000${r.key(p)}`);
        if (from) this.flow(from, src, ts, r.name);
      }
    }
  }

  /**
   * An event on `tid`'s track. On a thread track it lies inside the running
   * slice; on the kernel track it becomes a short slice of its own so flows
   * can bind to it.
   */
  private instant(
    tid: number,
    ts: number,
    name: string,
    cat: string,
    args: Record<string, unknown>,
  ): void {
    if (tid === KERNEL_TID) {
      this.out.push({
        name,
        ph: 'X',
        cat,
        pid: TRACE_PID,
        tid,
        ts,
        dur: this.spacing / 2000,
        args,
      });
    } else {
      this.out.push({ name, ph: 'i', s: 't', cat, pid: TRACE_PID, tid, ts, args });
    }
  }

  /** A flow from an event at `ts` on `from` to `to`'s next run slice (written once that slice starts). */
  private flowOutAt(from: number, ts: number, name: string, to: number): void {
    const list = this.pendingIn.get(to);
    const src = { name, tid: from, ts };
    if (list) list.push(src);
    else this.pendingIn.set(to, [src]);
  }

  /** One flow: both ends 1 ns after their events, strictly inside the enclosing slices. */
  private flow(from: { tid: number; ts: number }, tid: number, ts: number, name: string): void {
    const id = this.nextFlow++;
    this.out.push({
      name,
      ph: 's',
      cat: 'flow',
      id,
      pid: TRACE_PID,
      tid: from.tid,
      ts: round(from.ts + 0.001),
    });
    this.out.push({
      name,
      ph: 'f',
      bp: 'e',
      cat: 'flow',
      id,
      pid: TRACE_PID,
      tid,
      ts: round(ts + 0.001),
    });
  }

  private endRun(ts: number): void {
    if (this.running === null) return;
    this.close(this.runSlice, this.running, ts, {});
    this.running = null;
  }

  private close(
    map: Map<number, Open>,
    tid: number,
    ts: number,
    extra: Record<string, unknown>,
  ): void {
    const o = map.get(tid);
    if (!o) return;
    map.delete(tid);
    this.out.push({
      name: o.name,
      ph: 'X',
      cat: o.cat,
      pid: TRACE_PID,
      tid,
      ts: o.start,
      dur: round(ts - o.start),
      args: { ...o.args, ...extra },
    });
  }

  private endHold(id: number, ts: number): void {
    const b = this.holdStart.get(id)!;
    this.holdStart.delete(id);
    this.out.push({ name: b.name, ph: 'e', cat: b.cat!, id, pid: TRACE_PID, tid: b.tid, ts });
  }

  private closeAll(ts: number): void {
    this.endRun(ts);
    for (const tid of [...this.blocked.keys()]) this.close(this.blocked, tid, ts, { atEnd: true });
    for (const id of [...this.holdStart.keys()]) {
      const b = this.holdStart.get(id)!;
      if (b.cat === 'fence') b.args!.unsignalledAtEnd = true;
      else b.args!.heldAtEnd = true;
      this.endHold(id, ts);
    }
  }

  /** `M` events naming the process and every track, sorted kernel first then by creation. */
  metadata(): TraceEvent[] {
    const m: TraceEvent[] = [
      {
        name: 'process_name',
        ph: 'M',
        pid: TRACE_PID,
        tid: KERNEL_TID,
        args: { name: this.opts.title ?? 'dmabuf-lab' },
      },
      {
        name: 'process_sort_index',
        ph: 'M',
        pid: TRACE_PID,
        tid: KERNEL_TID,
        args: { sort_index: 0 },
      },
    ];
    for (const [tid, name] of [...this.names].sort((a, b) => a[0] - b[0])) {
      const ctx = this.contexts.get(tid);
      const label = ctx && ctx !== 'process' ? `${name} [${ctx}]` : name;
      m.push({ name: 'thread_name', ph: 'M', pid: TRACE_PID, tid, args: { name: label } });
      m.push({
        name: 'thread_sort_index',
        ph: 'M',
        pid: TRACE_PID,
        tid,
        args: { sort_index: tid },
      });
    }
    return m;
  }
}

function round(us: number): number {
  return Math.round(us * 1000) / 1000;
}

/** Labels of the event types whose payload says more than its first string. */
const LABELS: Record<string, (p: Record<string, unknown>) => string> = {
  'dmabuf-revoke': (p) => `${p.revoked ? 'revoke' : 'restore'} dma-buf ${String(p.dmabuf)}`,
  'dmabuf-move-notify': (p) =>
    `move_notify dma-buf ${String(p.dmabuf)} (${String(p.attachments)} attachment(s)${p.revoked ? ', revoked' : ''})`,
  'dmabuf-map': (p) =>
    `map dma-buf ${String(p.dmabuf)} for ${String(p.dev)} (${String(p.mapType)})${typeof p.result === 'number' && p.result ? ` = ${p.result}` : ''}`,
  'dmabuf-unmap': (p) => `unmap dma-buf ${String(p.dmabuf)} for ${String(p.dev)}`,
  'fence-init': (p) => `fence init ${String(p.context)}:${String(p.seqno)}`,
  'fence-signal': (p) =>
    `fence signal ${String(p.context)}:${String(p.seqno)}${typeof p.error === 'number' && p.error ? ` error ${p.error}` : ''}`,
  choice: (p) =>
    `choose ${String(p.kind)}: ${String(p.chosen)} (of ${Array.isArray(p.options) ? p.options.length : '?'})`,
};

/** A short label for an event of a type this writer does not know. */
function describe(type: string, payload: Record<string, unknown>): string {
  const known = LABELS[type];
  if (known) return known(payload);
  const first = Object.entries(payload).find(
    ([k, v]) => typeof v === 'string' && k !== 'flowOut' && k !== 'flowIn',
  );
  return first ? `${type} ${String(first[1])}` : type;
}

/** Build a Chrome Trace Event JSON object from a run's events. */
export function toChromeTrace(
  events: readonly KernelEvent[],
  opts: ChromeTraceOptions = {},
): ChromeTrace {
  const b = new Builder(opts);
  b.build(events);
  return {
    traceEvents: [...b.metadata(), ...b.out],
    displayTimeUnit: 'ns',
    otherData: {
      generator: 'dmabuf-lab',
      timeline: `ts = (virtual ns + event index x ${opts.spacingNs ?? 100} ns) / 1000; exact virtual time in args.vt_ns`,
      ...opts.metadata,
    },
  };
}

/** The trace as JSON text (one event per line, so diffs and greps stay readable). */
export function chromeTraceJson(trace: ChromeTrace): string {
  const lines = trace.traceEvents.map((e) => JSON.stringify(e));
  const rest = JSON.stringify({
    displayTimeUnit: trace.displayTimeUnit,
    otherData: trace.otherData,
  }).slice(1);
  return `{"traceEvents":[\n${lines.join(',\n')}\n],${rest}\n`;
}
