/**
 * The per-context / per-ring summary of a trace: fence and job counts with
 * median and worst latencies, in constant memory per context (exact for the
 * first 1024 samples, then a log-scale histogram: the median is then exact
 * to within 5 %; the worst is always exact).
 */
import type { LatencySink } from './sinks.ts';

const RATIO = 1.1;
const LOG_RATIO = Math.log(RATIO);
const BUCKETS = 320;
const EXACT = 1024;

/**
 * Latencies of one kind (ns): the first `EXACT` samples kept as they are,
 * every sample also counted in a log histogram (so that no code path first
 * runs when the samples outgrow the exact list: V8 would throw away the
 * optimised code of everything that inlined `add`).
 */
export class LatencyHistogram {
  count = 0;
  max = 0;
  private zero = 0;
  private readonly buckets = new Uint32Array(BUCKETS);
  private readonly exact: number[] = [];

  add(ns: number): void {
    this.count++;
    if (ns > this.max) this.max = ns;
    if (this.count <= EXACT) this.exact.push(ns);
    if (ns < 1) {
      this.zero++;
      return;
    }
    const b = Math.min(BUCKETS - 1, Math.floor(Math.log(ns) / LOG_RATIO));
    this.buckets[b]!++;
  }

  /** The median (ns, the bucket's geometric middle), or null without samples. */
  median(): number | null {
    if (this.count === 0) return null;
    if (this.count <= EXACT) {
      const sorted = [...this.exact].sort((a, b) => a - b);
      return sorted[Math.ceil(sorted.length / 2) - 1]!;
    }
    let want = Math.ceil(this.count / 2);
    if (want <= this.zero) return 0;
    want -= this.zero;
    for (let b = 0; b < BUCKETS; b++) {
      want -= this.buckets[b]!;
      if (want <= 0) return Math.min(this.max, Math.round(RATIO ** (b + 0.5)));
    }
    return this.max;
  }
}

/** One row of the fence-context table. */
export interface ContextRow {
  readonly context: number;
  readonly driver: string;
  readonly timeline: string;
  readonly fences: number;
  readonly signalled: number;
  readonly initToSignalMedianNs: number | null;
  readonly initToSignalWorstNs: number | null;
}

/** One row of the ring table. */
export interface RingRow {
  readonly ring: string;
  readonly jobs: number;
  readonly queueToRunMedianNs: number | null;
  readonly queueToRunWorstNs: number | null;
  readonly runToDoneMedianNs: number | null;
  readonly runToDoneWorstNs: number | null;
}

interface ContextAcc {
  driver: string;
  timeline: string;
  fences: number;
  readonly lat: LatencyHistogram;
}

interface RingAcc {
  jobs: number;
  readonly queueRun: LatencyHistogram;
  readonly runDone: LatencyHistogram;
}

/** Collects the summary while the trace streams. */
export class TraceSummary implements LatencySink {
  private readonly contexts = new Map<number, ContextAcc>();
  /** The context of the latest sample and its row (consecutive samples often share one). */
  private lastContext = -1;
  private lastAcc: ContextAcc | undefined;
  private readonly rings = new Map<string, RingAcc>();

  /** A fence initialised (counted) — `fence()` adds its latency when it signals. */
  init(context: number, driver: string, timeline: string): void {
    const c = this.ctx(context, driver, timeline);
    c.fences++;
  }

  private ctx(context: number, driver: string, timeline: string): ContextAcc {
    let c = this.lastContext === context ? this.lastAcc : this.contexts.get(context);
    if (!c) {
      c = { driver, timeline, fences: 0, lat: new LatencyHistogram() };
      this.contexts.set(context, c);
    } else if (c.driver === '?' && driver !== '?') {
      c.driver = driver;
      c.timeline = timeline;
    }
    this.lastContext = context;
    this.lastAcc = c;
    return c;
  }

  fence(context: number, driver: string, timeline: string, initToSignalNs: number | null): void {
    const c = this.ctx(context, driver, timeline);
    if (initToSignalNs !== null) c.lat.add(initToSignalNs);
  }

  job(ring: string, queueToRunNs: number | null, runToDoneNs: number | null): void {
    let r = this.rings.get(ring);
    if (!r) {
      r = { jobs: 0, queueRun: new LatencyHistogram(), runDone: new LatencyHistogram() };
      this.rings.set(ring, r);
    }
    r.jobs++;
    if (queueToRunNs !== null) r.queueRun.add(queueToRunNs);
    if (runToDoneNs !== null) r.runDone.add(runToDoneNs);
  }

  contextRows(): ContextRow[] {
    return [...this.contexts]
      .sort((a, b) => a[0] - b[0])
      .map(([context, c]) => ({
        context,
        driver: c.driver,
        timeline: c.timeline,
        fences: c.fences,
        signalled: c.lat.count,
        initToSignalMedianNs: c.lat.median(),
        initToSignalWorstNs: c.lat.count ? c.lat.max : null,
      }));
  }

  ringRows(): RingRow[] {
    return [...this.rings]
      .sort((a, b) => a[0].localeCompare(b[0]))
      .map(([ring, r]) => ({
        ring,
        jobs: r.jobs,
        queueToRunMedianNs: r.queueRun.median(),
        queueToRunWorstNs: r.queueRun.count ? r.queueRun.max : null,
        runToDoneMedianNs: r.runDone.median(),
        runToDoneWorstNs: r.runDone.count ? r.runDone.max : null,
      }));
  }
}
