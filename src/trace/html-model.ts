/**
 * The timeline data the HTML report embeds, and the builder that collects
 * it: lanes in groups, intervals, instant marks and arrows, all positioned
 * by event index (the client maps an index to x in each layout: virtual
 * time, idle time collapsed, or by step). Columnar arrays and one string
 * table keep 10^5 events to a few megabytes of JSON.
 */

/** Lane groups, in display order. */
export const GROUPS = [
  'threads',
  'locks',
  'fences',
  'scheduler jobs',
  'dma-buf',
  'IRQs, timers, RCU',
  'workqueues',
  'hardware',
] as const;
export type GroupName = (typeof GROUPS)[number];

/** How an interval or mark is drawn, and what the legend calls it. */
export interface Style {
  readonly name: string;
  readonly color: string;
  /** Drawn as a thin bar under the others in its row (an attachment's lifetime, an exported buffer). */
  readonly thin?: boolean;
  /** Shown in the timeline legend. */
  readonly legend: string;
}

/** Every style, by key; the data refers to them by index in this order. */
export const STYLES = {
  running: { name: 'running', color: '#2f6db5', legend: 'thread running' },
  runnable: { name: 'runnable', color: '#9cc3ee', legend: 'thread runnable (waiting for the CPU)' },
  blocked: { name: 'blocked', color: '#e8d7a9', legend: 'thread blocked (hover: on what)' },
  held: { name: 'held', color: '#7a4fb3', legend: 'lock held (exclusive)' },
  heldRead: { name: 'held (read)', color: '#b9a0dc', legend: 'lock held for read' },
  lockWait: { name: 'waiting', color: '#f0b3b3', legend: 'thread waiting for the lock' },
  fencePending: { name: 'unsignalled', color: '#8fbf8f', legend: 'fence from init to signal' },
  fenceError: {
    name: 'signalled with error',
    color: '#d9534f',
    legend: 'fence signalled with an error',
  },
  fenceNever: {
    name: 'never signalled',
    color: '#c7c7c7',
    legend: 'fence not signalled by the end',
  },
  jobQueued: {
    name: 'queued',
    color: '#f3cf7a',
    legend: 'job queued (waiting for dependencies / credits)',
  },
  jobRunning: {
    name: 'running',
    color: '#e08a1e',
    legend: 'job on the hardware (run_job to done)',
  },
  jobError: { name: 'failed', color: '#d9534f', legend: 'job finished with an error' },
  exported: {
    name: 'exported',
    color: '#cfd8dc',
    thin: true,
    legend: 'dma-buf exported / attached',
  },
  mapped: { name: 'mapped', color: '#26a69a', legend: 'attachment mapped' },
  workQueued: { name: 'queued', color: '#d7ccc8', legend: 'work item queued' },
  workRunning: { name: 'running', color: '#8d6e63', legend: 'work item running' },
  engineBusy: { name: 'busy', color: '#5c6bc0', legend: 'engine executing a command' },
  engineHung: { name: 'hung', color: '#d9534f', legend: 'engine command hung' },
  rcuGp: { name: 'grace period', color: '#a5d6a7', legend: 'RCU grace period' },
  // marks
  splat: { name: 'splat', color: '#d93025', legend: 'splat (click: its report)' },
  exit: { name: 'exit', color: '#555555', legend: 'thread exit' },
  contend: { name: 'contended', color: '#d9534f', legend: 'lock contended' },
  signal: { name: 'signal', color: '#2e7d32', legend: 'fence signalled' },
  mapFailed: { name: 'map failed', color: '#d9534f', legend: 'map refused (errno)' },
  moveNotify: { name: 'move_notify', color: '#ff9800', legend: 'move_notify (invalidate)' },
  revoke: { name: 'revoke', color: '#b71c1c', legend: 'revoked / restored' },
  irq: { name: 'irq', color: '#6a1b9a', legend: 'IRQ / timer fired' },
  mark: { name: 'event', color: '#607d8b', legend: 'other event' },
  wake: {
    name: 'wake-up',
    color: '#1565c0',
    legend: 'arrow: a signal, unlock or wake-up to the thread it woke',
  },
} as const satisfies Record<string, Style>;
export type StyleKey = keyof typeof STYLES;
export const STYLE_KEYS = Object.keys(STYLES) as StyleKey[];
const STYLE_INDEX = new Map(STYLE_KEYS.map((k, i) => [k, i]));

/** One lane. */
export interface LaneData {
  /** Group index in `GROUPS`. */
  readonly g: number;
  /** String-table index of the name. */
  readonly n: number;
  /** Sub-rows (overlapping intervals are packed into rows). */
  rows: number;
}

/** A decision with what was offered (from `choice` events). */
export interface ChoiceData {
  /** Event index (position on the timeline). */
  readonly at: number;
  readonly decision: number;
  readonly kind: string;
  readonly chosen: string;
  readonly options: readonly string[];
  /** Options offered but not listed. */
  readonly more: number;
  readonly ops: readonly string[] | null;
}

/** What the client receives. */
export interface TimelineData {
  /** Virtual time (ns) of each event index. */
  readonly t: number[];
  /** Scheduling step of each event index. */
  readonly step: number[];
  readonly groups: readonly string[];
  readonly lanes: LaneData[];
  readonly styles: readonly Style[];
  readonly str: string[];
  /** Intervals: lane, row, start and end event index, style, label (string index). */
  readonly iv: {
    lane: number[];
    row: number[];
    s: number[];
    e: number[];
    k: number[];
    l: number[];
  };
  /** Instant marks: lane, event index, style, label. */
  readonly mk: { lane: number[]; at: number[]; k: number[]; l: number[] };
  /** Arrows: from lane / event index to lane / event index, label. */
  readonly ar: { fl: number[]; fa: number[]; tl: number[]; ta: number[]; l: number[] };
  /** Splat markers: lane (-1: none), event index, index of the splat in the report. */
  readonly sp: { lane: number[]; at: number[]; idx: number[] };
  readonly choices: ChoiceData[];
}

/** Collects lanes, intervals, marks and arrows; packs overlapping intervals into rows. */
export class TimelineBuilder {
  private readonly strIndex = new Map<string, number>();
  private readonly laneIndex = new Map<string, number>();
  /** Per lane and row: the end index of the last interval placed (packing). */
  private readonly rowEnds: number[][] = [];
  readonly data: TimelineData = {
    t: [],
    step: [],
    groups: [...GROUPS],
    lanes: [],
    styles: STYLE_KEYS.map((k) => STYLES[k]),
    str: [],
    iv: { lane: [], row: [], s: [], e: [], k: [], l: [] },
    mk: { lane: [], at: [], k: [], l: [] },
    ar: { fl: [], fa: [], tl: [], ta: [], l: [] },
    sp: { lane: [], at: [], idx: [] },
    choices: [],
  };

  /** Index of `s` in the string table. */
  str(s: string): number {
    let i = this.strIndex.get(s);
    if (i === undefined) {
      i = this.data.str.length;
      this.data.str.push(s);
      this.strIndex.set(s, i);
    }
    return i;
  }

  /** The lane `key` in `group`, created on first use with `name`. */
  lane(group: GroupName, key: string, name: string): number {
    const k = `${group}\u0000${key}`;
    let i = this.laneIndex.get(k);
    if (i === undefined) {
      i = this.data.lanes.length;
      this.data.lanes.push({ g: GROUPS.indexOf(group), n: this.str(name), rows: 1 });
      this.rowEnds.push([]);
      this.laneIndex.set(k, i);
    }
    return i;
  }

  /** True when the lane exists. */
  hasLane(group: GroupName, key: string): boolean {
    return this.laneIndex.has(`${group}\u0000${key}`);
  }

  /** An interval from event `s` to event `e` (inclusive of both instants). */
  interval(lane: number, s: number, e: number, style: StyleKey, label: string): void {
    const thin = 'thin' in STYLES[style];
    // Thin bars (lifetimes) share row 0 under the others; solid ones are packed.
    let row = 0;
    if (!thin) {
      const ends = this.rowEnds[lane]!;
      row = ends.findIndex((end) => end <= s);
      if (row < 0) {
        row = ends.length;
        ends.push(e);
      } else ends[row] = e;
      const lanes = this.data.lanes[lane]!;
      if (row + 1 > lanes.rows) lanes.rows = row + 1;
    }
    const iv = this.data.iv;
    iv.lane.push(lane);
    iv.row.push(row);
    iv.s.push(s);
    iv.e.push(e);
    iv.k.push(STYLE_INDEX.get(style)!);
    iv.l.push(this.str(label));
  }

  mark(lane: number, at: number, style: StyleKey, label: string): void {
    const mk = this.data.mk;
    mk.lane.push(lane);
    mk.at.push(at);
    mk.k.push(STYLE_INDEX.get(style)!);
    mk.l.push(this.str(label));
  }

  arrow(fromLane: number, fromAt: number, toLane: number, toAt: number, label: string): void {
    const ar = this.data.ar;
    ar.fl.push(fromLane);
    ar.fa.push(fromAt);
    ar.tl.push(toLane);
    ar.ta.push(toAt);
    ar.l.push(this.str(label));
  }

  splat(lane: number, at: number, idx: number): void {
    this.data.sp.lane.push(lane);
    this.data.sp.at.push(at);
    this.data.sp.idx.push(idx);
  }
}

/** Options of a decision listed in the report (the chosen one always); the rest are counted. */
const LISTED_OPTIONS = 5;

/** The decisions in embedded form: columns, option and operation labels as string-table indices. */
/** Decisions as columns; `c` and `o` index the timeline's string table. */
export interface EncodedChoices {
  /** The string table of `k` and `p` (kinds and operations). */
  readonly q: string[];
  readonly at: number[];
  readonly d: number[];
  readonly k: number[];
  readonly c: number[];
  readonly more: number[];
  /** Number of listed options of each decision (in `o` / `p`, in order). */
  readonly n: number[];
  readonly o: number[];
  /** Operation each option waited at (-1: not a thread choice). */
  readonly p: number[];
}

/**
 * `TimelineData` as the client receives it: `t`, `step`, `iv.e`, `mk.at`,
 * `ar.ta` and `ch.at` as differences from the previous entry; `iv.s` and
 * `ar.fa` as distances back from `iv.e` / `ar.ta`; `ch.d` empty when the
 * decisions are numbered 0, 1, 2, ...; decisions as columns.
 */
export type EncodedTimeline = Omit<TimelineData, 'choices'> & { readonly ch: EncodedChoices };

function delta(a: readonly number[]): number[] {
  return a.map((v, i) => (i === 0 ? v : v - a[i - 1]!));
}

/**
 * Pack the timeline for embedding (a 10,000-thread run must stay a few
 * megabytes): `t` and `step` become differences, decisions become columns
 * of string indices with at most `LISTED_OPTIONS` options each.
 */
export function encodeTimeline(d: TimelineData): EncodedTimeline {
  // Option labels (thread names) go in the main string table; kinds and operations
  // in their own (a few names, so one-digit indices).
  const table = (): [string[], (s: string) => number] => {
    const strs: string[] = [];
    const index = new Map<string, number>();
    return [
      strs,
      (s: string): number => {
        let i = index.get(s);
        if (i === undefined) {
          i = strs.length;
          strs.push(s);
          index.set(s, i);
        }
        return i;
      },
    ];
  };
  const strs = [...d.str];
  const index = new Map(strs.map((x, i) => [x, i]));
  const str = (x: string): number => {
    let i = index.get(x);
    if (i === undefined) {
      i = strs.length;
      strs.push(x);
      index.set(x, i);
    }
    return i;
  };
  const [ops, op] = table();
  const ch: EncodedChoices = { q: ops, at: [], d: [], k: [], c: [], more: [], n: [], o: [], p: [] };
  for (const c of d.choices) {
    let idx = c.options.map((_, j) => j).slice(0, LISTED_OPTIONS);
    const ci = c.options.indexOf(c.chosen);
    if (ci >= idx.length) idx = [...idx.slice(0, -1), ci];
    ch.at.push(c.at);
    ch.d.push(c.decision);
    ch.k.push(op(c.kind));
    ch.c.push(str(c.chosen));
    ch.more.push(c.more + c.options.length - idx.length);
    for (const j of idx) {
      ch.o.push(str(c.options[j]!));
      ch.p.push(c.ops ? op(c.ops[j] ?? '') : -1);
    }
    ch.n.push(idx.length);
  }
  const { choices: _choices, ...rest } = d;
  // Monotone columns as differences; interval starts and arrow sources as distances back from their ends.
  return {
    ...rest,
    t: delta(d.t),
    step: delta(d.step),
    str: strs,
    iv: { ...d.iv, e: delta(d.iv.e), s: d.iv.s.map((v, i) => d.iv.e[i]! - v) },
    mk: { ...d.mk, at: delta(d.mk.at) },
    ar: { ...d.ar, ta: delta(d.ar.ta), fa: d.ar.fa.map((v, i) => d.ar.ta[i]! - v) },
    ch: { ...ch, at: delta(ch.at), d: ch.d.every((v, i) => v === i) ? [] : ch.d },
  };
}
