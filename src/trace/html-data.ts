/**
 * Data preparation for the HTML report's timeline: reads a run's kernel
 * events (or events parsed from a real trace) and produces the lanes the
 * report draws: thread states (running, runnable, blocked and on what),
 * lock holds (and waits), fences per context from init to signal, scheduler
 * jobs from queue to done, dma-buf exports, attachments and mappings with
 * move_notify and revoke, IRQs, timers and RCU grace periods, work items,
 * engines; arrows from a signal, unlock or timer to the thread it woke;
 * splat markers; and the decisions with the options they had.
 */
import type { KernelEvent } from '../kernel/index.ts';
import { errnoName } from './errno-name.ts';
import { TimelineBuilder } from './html-model.ts';
import type { StyleKey, TimelineData } from './html-model.ts';

type Payload = Readonly<Record<string, unknown>>;

const str = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '?';
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

interface Open {
  readonly at: number;
  readonly style: StyleKey;
  readonly label: string;
}

interface ThreadState {
  readonly lane: number;
  readonly name: string;
  state: Open | null;
  /** Index of the last switch to this thread. */
  switchedIn: number;
  /** A lock acquisition still waiting for the lock (split into wait and hold when the thread runs again). */
  waitingHold: Hold | null;
  /** A wake-up waiting for this thread's next run, to draw the arrow. */
  woken: { lane: number; at: number; label: string } | null;
}

interface Hold {
  readonly lane: number;
  at: number;
  readonly read: boolean;
  readonly lock: string;
  readonly thread: string;
  waiting: boolean;
}

/** `2 MiB`, `4 KiB`, `100 bytes`. */
function sizeText(n: number): string {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)} MiB`;
  if (n >= 1 << 10 && n % (1 << 10) === 0) return `${n / (1 << 10)} KiB`;
  return `${n} bytes`;
}

/** Interprets a complete event list into `TimelineData`. */
class Interpreter {
  readonly b = new TimelineBuilder();
  private readonly threads = new Map<string, ThreadState>();
  private readonly byTid = new Map<number, ThreadState>();
  private spawned = 0;
  private running: ThreadState | null = null;
  private readonly holds = new Map<string, Hold[]>(); // thread → its holds, in acquisition order
  private readonly fences = new Map<number, { lane: number; at: number; label: string }>();
  private readonly contexts = new Map<number, number>(); // fence context → lane
  private readonly jobs = new Map<
    string,
    { lane: number; at: number; style: StyleKey; label: string }
  >();
  private readonly exports = new Map<number, { lane: number; at: number; name: string }>();
  private readonly attachments = new Map<string, { lane: number; at: number }[]>();
  private readonly mappings = new Map<string, { lane: number; at: number; label: string }[]>();
  private readonly works = new Map<
    string,
    { lane: number; at: number; style: StyleKey; label: string }
  >();
  private readonly engines = new Map<
    string,
    { lane: number; at: number; style: StyleKey; label: string }
  >();
  private readonly gps = new Map<number, { lane: number; at: number }>();
  /** The last event of each thread that can wake another (a signal, an unlock), for arrow labels. */
  private readonly cause = new Map<number, { step: number; label: string }>();
  private splats = 0;
  private last = 0;

  run(events: readonly KernelEvent[]): TimelineData {
    const d = this.b.data;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      d.t.push(e.tNs);
      d.step.push(e.step);
      this.last = i;
      this.event(e, i);
    }
    this.closeAll(this.last);
    return d;
  }

  private thread(name: string): ThreadState {
    let t = this.threads.get(name);
    if (!t) {
      t = {
        lane: this.b.lane('threads', name, name),
        name,
        state: null,
        switchedIn: -1,
        waitingHold: null,
        woken: null,
      };
      this.threads.set(name, t);
    }
    return t;
  }

  private threadOfTid(tid: number): ThreadState | null {
    return this.byTid.get(tid) ?? null;
  }

  private setState(t: ThreadState, at: number, next: Open | null): void {
    const cur = t.state;
    if (cur) this.b.interval(t.lane, cur.at, at, cur.style, cur.label);
    t.state = next;
  }

  /** The lane of the thread running event `e` (the kernel's timer lane when none). */
  private sourceLane(tid: number): number {
    return (
      this.threadOfTid(tid)?.lane ??
      this.b.lane('IRQs, timers, RCU', 'timers', 'timers (no thread)')
    );
  }

  private event(e: KernelEvent & Payload, i: number): void {
    // The kernel core's events here; other layers' (and unknown) types in `other`.
    // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check
    switch (e.type) {
      case 'thread-spawn': {
        const ctx = str(e.context);
        const name = str(e.thread);
        const t = this.thread(name);
        if (ctx !== 'process') this.b.data.str[this.b.data.lanes[t.lane]!.n] = `${name} [${ctx}]`;
        this.byTid.set(++this.spawned, t);
        this.setState(t, i, { at: i, style: 'runnable', label: 'runnable (spawned)' });
        return;
      }
      case 'switch': {
        const t = this.byTid.get(e.tid) ?? this.thread(str(e.to));
        this.byTid.set(e.tid, t);
        const prev = this.running;
        if (prev && prev !== t && prev.state?.style === 'running') {
          this.setState(prev, i, {
            at: i,
            style: 'runnable',
            label: 'runnable (preempted at a scheduling point)',
          });
        }
        if (prev !== t || t.state?.style !== 'running') {
          const op = str(e.op);
          this.setState(t, i, {
            at: i,
            style: 'running',
            label: `running (${op === 'start' ? 'started' : `after ${op}`})`,
          });
        }
        t.switchedIn = i;
        this.running = t;
        if (t.woken) {
          this.b.arrow(t.woken.lane, t.woken.at, t.lane, i, t.woken.label);
          t.woken = null;
        }
        const w = t.waitingHold;
        if (w) {
          this.b.interval(w.lane, w.at, i, 'lockWait', `${w.thread} waiting for ${w.lock}`);
          w.at = i;
          w.waiting = false;
          t.waitingHold = null;
        }
        return;
      }
      case 'block': {
        const t = this.thread(str(e.thread));
        const op = str(e.op);
        this.setState(t, i, {
          at: i,
          style: 'blocked',
          label: `blocked in ${op} on ${str(e.on)}`,
        });
        // lock_acquire comes before the wait, as in the kernel: until the thread runs again it waits for the lock.
        this.startWaiting(t, str(e.on));
        if (this.running === t) this.running = null;
        return;
      }
      case 'wake': {
        const t = this.thread(str(e.thread));
        const reason = str(e.reason);
        this.setState(t, i, {
          at: i,
          style: 'runnable',
          label: `runnable (${reason === 'woken' ? 'woken' : reason})`,
        });
        const c = this.cause.get(e.tid);
        const label =
          reason !== 'woken'
            ? reason
            : c && c.step === e.step
              ? `${c.label} wakes ${t.name}`
              : `wake-up of ${t.name}`;
        t.woken = { lane: this.sourceLane(e.tid), at: i, label };
        return;
      }
      case 'thread-exit': {
        const t = this.thread(str(e.thread));
        this.setState(t, i, null);
        this.b.mark(t.lane, i, 'exit', `exited (${num(e.code)})`);
        if (this.running === t) this.running = null;
        return;
      }
      case 'lock-acquire': {
        const t = this.threadOfTid(e.tid);
        const holder = t?.name ?? 'no thread';
        const lock = str(e.lock);
        const lane = this.b.lane('locks', lock, lock);
        const h: Hold = {
          lane,
          at: i,
          read: num(e.read) !== 0,
          lock,
          thread: holder,
          waiting: false,
        };
        const hs = this.holds.get(holder);
        if (hs) hs.push(h);
        else this.holds.set(holder, [h]);
        return;
      }
      case 'lock-release': {
        const t = this.threadOfTid(e.tid);
        const holder = t?.name ?? 'no thread';
        const lock = str(e.lock);
        const hs = this.holds.get(holder);
        const j = hs ? hs.findLastIndex((x) => x.lock === lock) : -1;
        if (hs && j >= 0) {
          const h = hs[j]!;
          hs.splice(j, 1);
          if (t && t.waitingHold === h) t.waitingHold = null;
          this.endHold(h, i, '');
        }
        this.cause.set(e.tid, { step: e.step, label: `unlock of ${lock}` });
        return;
      }
      case 'lock-contend': {
        const lock = str(e.lock);
        const t = this.threadOfTid(e.tid);
        if (t) this.startWaiting(t, lock);
        const who = t?.name ?? '?';
        const by = e.holder === null ? '' : ` (held by ${str(e.holder)})`;
        this.b.mark(
          this.b.lane('locks', lock, lock),
          i,
          'contend',
          `${who} contends for ${lock}${by}`,
        );
        return;
      }
      case 'splat': {
        const t = this.threadOfTid(e.tid);
        this.b.splat(t?.lane ?? -1, i, this.splats++);
        return;
      }
      case 'choice': {
        this.b.data.choices.push({
          at: i,
          decision: num(e.decision),
          kind: str(e.kind),
          chosen: str(e.chosen),
          options: Array.isArray(e.options) ? e.options.map(str) : [],
          more: num(e.more),
          ops: Array.isArray(e.ops) ? e.ops.map(str) : null,
        });
        return;
      }
      case 'run-end':
        return;
      default:
        this.other(e, i);
    }
  }

  /** Events of the layers above the kernel core (read by field name, like known.ts). */
  private other(e: KernelEvent & Payload, i: number): void {
    const b = this.b;
    switch (e.type as string) {
      case 'fence-init': {
        const ctx = num(e.context);
        let lane = this.contexts.get(ctx);
        if (lane === undefined) {
          lane = b.lane(
            'fences',
            String(ctx),
            `${str(e.driver)} ${str(e.timeline)} (context ${ctx})`,
          );
          this.contexts.set(ctx, lane);
        }
        this.fences.set(num(e.fence), { lane, at: i, label: `fence ${ctx}:${num(e.seqno)}` });
        return;
      }
      case 'fence-signal': {
        const f = this.fences.get(num(e.fence));
        const err = num(e.error);
        const what = `fence ${num(e.context)}:${num(e.seqno)} signalled${err ? ` with error ${errnoName(err)}` : ''}`;
        if (f) {
          this.fences.delete(num(e.fence));
          b.interval(f.lane, f.at, i, err ? 'fenceError' : 'fencePending', what);
          b.mark(f.lane, i, err ? 'fenceError' : 'signal', what);
        }
        this.cause.set(e.tid, {
          step: e.step,
          label: `signal of fence ${num(e.context)}:${num(e.seqno)}`,
        });
        return;
      }
      case 'fence-destroy': {
        const f = this.fences.get(num(e.fence));
        if (f && !e.signalled) {
          this.fences.delete(num(e.fence));
          b.interval(f.lane, f.at, i, 'fenceNever', `${f.label} destroyed unsignalled`);
        }
        return;
      }
      case 'sched-job-queue':
      case 'sched-job-run':
      case 'sched-job-done': {
        const sched = str(e.sched);
        const key = `${sched}/${num(e.job)}`;
        const lane = b.lane('scheduler jobs', sched, `drm_sched ${sched}`);
        const j = this.jobs.get(key);
        if (j) b.interval(j.lane, j.at, i, j.style, j.label);
        const name = `job ${num(e.job)} (fence ${str(e.fence)})`;
        if (e.type === 'sched-job-queue')
          this.jobs.set(key, {
            lane,
            at: i,
            style: 'jobQueued',
            label: `${name} queued by entity ${str(e.entity)}`,
          });
        else if (e.type === 'sched-job-run')
          this.jobs.set(key, {
            lane,
            at: i,
            style: 'jobRunning',
            label: `${name} running (${num(e.credits)} credits)`,
          });
        else {
          this.jobs.delete(key);
          const r = num(e.result);
          if (r) b.mark(lane, i, 'jobError', `${name} done with error ${errnoName(r)}`);
          else b.mark(lane, i, 'signal', `${name} done`);
        }
        return;
      }
      case 'sched-job-timeout': {
        const sched = str(e.sched);
        b.mark(
          b.lane('scheduler jobs', sched, `drm_sched ${sched}`),
          i,
          'jobError',
          `job ${num(e.job)} timed out`,
        );
        return;
      }
      case 'dmabuf-export': {
        const id = num(e.dmabuf);
        const name = `dma-buf ${id} (${str(e.exporter)}, ${sizeText(num(e.size))})`;
        this.exports.set(id, { lane: b.lane('dma-buf', String(id), name), at: i, name });
        return;
      }
      case 'dmabuf-release': {
        const x = this.exports.get(num(e.dmabuf));
        if (x) {
          this.exports.delete(num(e.dmabuf));
          b.interval(x.lane, x.at, i, 'exported', `${x.name} exported until its release`);
        }
        return;
      }
      case 'dmabuf-attach': {
        const lane = this.attachmentLane(e);
        if (num(e.result) < 0) {
          b.mark(lane, i, 'mapFailed', `attach refused: ${errnoName(num(e.result))}`);
          return;
        }
        const key = this.attachmentKey(e);
        const list = this.attachments.get(key) ?? [];
        list.push({ lane, at: i });
        this.attachments.set(key, list);
        return;
      }
      case 'dmabuf-detach': {
        const a = this.attachments.get(this.attachmentKey(e))?.shift();
        if (a)
          b.interval(
            a.lane,
            a.at,
            i,
            'exported',
            `attached (${b.data.str[b.data.lanes[a.lane]!.n]!})`,
          );
        return;
      }
      case 'dmabuf-map': {
        const lane = this.attachmentLane(e);
        const r = num(e.result);
        if (r < 0) {
          b.mark(lane, i, 'mapFailed', `map (${str(e.mapType)}) failed: ${errnoName(r)}`);
          return;
        }
        const key = this.attachmentKey(e);
        const list = this.mappings.get(key) ?? [];
        list.push({ lane, at: i, label: `mapped as ${str(e.mapType)}` });
        this.mappings.set(key, list);
        return;
      }
      case 'dmabuf-unmap': {
        const m = this.mappings.get(this.attachmentKey(e))?.shift();
        if (m) b.interval(m.lane, m.at, i, 'mapped', m.label);
        return;
      }
      case 'dmabuf-move-notify':
      case 'dmabuf-revoke': {
        const id = num(e.dmabuf);
        const revoke = e.type === 'dmabuf-revoke';
        const what = revoke
          ? e.revoked
            ? `dma-buf ${id} revoked`
            : `dma-buf ${id} access restored`
          : `move_notify to ${num(e.attachments)} attachment(s)${e.revoked ? ' (revoked)' : ''}`;
        const style: StyleKey = revoke ? 'revoke' : 'moveNotify';
        const x = this.exports.get(id);
        if (x) b.mark(x.lane, i, style, what);
        // Show it reaching each importer attached now.
        for (const [key, list] of this.attachments) {
          const a = list[0];
          if (key.startsWith(`${id}/`) && a) {
            const who = b.data.str[b.data.lanes[a.lane]!.n]!.replace(/^dma-buf \d+ → /, '');
            b.mark(a.lane, i, style, `${what}: reaches ${who}`);
          }
        }
        return;
      }
      case 'irq':
        b.mark(
          b.lane('IRQs, timers, RCU', `irq ${str(e.irq)}`, `IRQ ${str(e.irq)}`),
          i,
          'irq',
          `IRQ ${str(e.irq)}: ${str(e.handler)}`,
        );
        return;
      case 'timer-fire': {
        const lane = b.lane('IRQs, timers, RCU', 'timers', 'timers (no thread)');
        b.mark(lane, i, 'irq', `timer ${str(e.timer)} fired`);
        this.cause.set(e.tid, { step: e.step, label: `timer ${str(e.timer)}` });
        return;
      }
      case 'rcu-gp': {
        const gp = num(e.gp);
        const lane = b.lane('IRQs, timers, RCU', 'rcu', 'RCU grace periods');
        if (e.phase === 'start') this.gps.set(gp, { lane, at: i });
        else {
          const g = this.gps.get(gp);
          if (g) b.interval(g.lane, g.at, i, 'rcuGp', `grace period ${gp}`);
          this.gps.delete(gp);
        }
        return;
      }
      case 'work-queue':
      case 'work-start':
      case 'work-end': {
        const wq = str(e.wq);
        const key = `${wq}/${str(e.work)}`;
        const lane = b.lane('workqueues', wq, `workqueue ${wq}`);
        const w = this.works.get(key);
        if (w) b.interval(w.lane, w.at, i, w.style, w.label);
        this.works.delete(key);
        if (e.type === 'work-queue')
          this.works.set(key, { lane, at: i, style: 'workQueued', label: `${str(e.work)} queued` });
        else if (e.type === 'work-start')
          this.works.set(key, {
            lane,
            at: i,
            style: 'workRunning',
            label: `${str(e.work)} running on ${str(e.worker)}`,
          });
        return;
      }
      case 'engine-start':
      case 'engine-complete':
      case 'engine-reset': {
        const eng = str(e.engine);
        const lane = b.lane('hardware', eng, `engine ${eng}`);
        const c = this.engines.get(eng);
        if (c) b.interval(c.lane, c.at, i, c.style, c.label);
        this.engines.delete(eng);
        if (e.type === 'engine-start')
          this.engines.set(eng, {
            lane,
            at: i,
            style: e.hang ? 'engineHung' : 'engineBusy',
            label: `seqno ${num(e.seqno)}${e.hang ? ' (hangs)' : ''}`,
          });
        else if (e.type === 'engine-reset') b.mark(lane, i, 'revoke', `engine ${eng} reset`);
        return;
      }
      case 'watchdog':
        b.mark(this.sourceLane(e.tid), i, 'splat', `stopped by the watchdog ${str(e.stopped)}`);
        return;
      default:
        return;
    }
  }

  /** An attachment: by its ordinal on the buffer, or (a parsed trace without one) by device. */
  private attachmentKey(e: Payload): string {
    return `${num(e.dmabuf)}/${typeof e.attachment === 'number' ? `#${e.attachment}` : str(e.dev)}`;
  }

  private attachmentLane(e: Payload): number {
    const id = num(e.dmabuf);
    const who = typeof e.importer === 'string' ? e.importer : str(e.dev);
    return this.b.lane('dma-buf', this.attachmentKey(e), `dma-buf ${id} → ${who}`);
  }

  /**
   * `t` waits for the lock named in `on` that it has already acquired for
   * lockdep (its newest hold of that lock): shown as waiting until it runs again.
   */
  private startWaiting(t: ThreadState, on: string): void {
    const hs = this.holds.get(t.name);
    if (!hs) return;
    for (let j = hs.length - 1; j >= 0; j--) {
      const h = hs[j]!;
      if (h.waiting || !on.includes(h.lock)) continue;
      h.waiting = true;
      t.waitingHold = h;
      return;
    }
  }

  private endHold(h: Hold, at: number, suffix: string): void {
    const what = `${h.lock} held by ${h.thread}${h.read ? ' (read)' : ''}${suffix}`;
    if (h.waiting)
      this.b.interval(h.lane, h.at, at, 'lockWait', `${h.thread} waiting for ${h.lock}${suffix}`);
    else this.b.interval(h.lane, h.at, at, h.read ? 'heldRead' : 'held', what);
  }

  /** Close what is still open at the end of the run. */
  private closeAll(end: number): void {
    for (const t of this.threads.values()) {
      const s = t.state;
      if (s) this.setState(t, end, { ...s, label: `${s.label} (at the end of the run)` });
      t.state = null;
    }
    for (const hs of this.holds.values())
      for (const h of hs) this.endHold(h, end, ' (held at the end)');
    for (const f of this.fences.values())
      this.b.interval(f.lane, f.at, end, 'fenceNever', `${f.label} never signalled`);
    for (const j of this.jobs.values())
      this.b.interval(j.lane, j.at, end, j.style, `${j.label} (at the end)`);
    for (const m of this.mappings.values())
      for (const x of m) this.b.interval(x.lane, x.at, end, 'mapped', `${x.label} (at the end)`);
    for (const a of this.attachments.values())
      for (const x of a) this.b.interval(x.lane, x.at, end, 'exported', 'attached (at the end)');
    for (const x of this.exports.values())
      this.b.interval(x.lane, x.at, end, 'exported', `${x.name} (at the end)`);
    for (const w of this.works.values())
      this.b.interval(w.lane, w.at, end, w.style, `${w.label} (at the end)`);
    for (const c of this.engines.values())
      this.b.interval(c.lane, c.at, end, c.style, `${c.label} (at the end)`);
  }
}

/** The timeline of a run (or of a parsed kernel trace) for the HTML report. */
export function timelineData(events: readonly KernelEvent[]): TimelineData {
  return new Interpreter().run(events);
}
