/**
 * Blocking fence waits from the event stream (`dma_fence_wait_start` /
 * `_wait_end`, always on one thread):
 *
 * - `fence.wait_unfinished` (info): a wait still open when the stream ends:
 *   the thread was blocked on that fence when the run stopped or the trace
 *   was cut (in a trace that may just be the capture window ending).
 * - `fence.wait_slow`: a wait longer than the `slowWaitNs` threshold
 *   (`trace-check --slow-wait 100ms`); off unless a threshold is given.
 *
 * Both name the fence, its timeline and the thread.
 */
import type {
  EventRule,
  EventRuleFactory,
  EventRuleOptions,
  FindingSink,
} from '../../check/index.ts';
import type { KernelEvent } from '../../kernel/index.ts';

interface OpenWait {
  readonly fence: number;
  readonly context: number;
  readonly seqno: number;
  readonly step: number;
  readonly tNs: number;
}

function ms(ns: number): string {
  return `${Number((ns / 1e6).toFixed(3))} ms`;
}

class FenceWaitRule implements EventRule {
  readonly types = ['fence-init', 'fence-wait-start', 'fence-wait-end'] as const;
  /** Open waits per thread (nested waits stack). */
  private readonly open = new Map<string, OpenWait[]>();
  private readonly names = new Map<number, { driver: string; timeline: string }>();
  private readonly slowNs: number | null;

  constructor(
    private readonly sink: FindingSink,
    opts: EventRuleOptions,
  ) {
    this.slowNs = opts.slowWaitNs ?? null;
  }

  private describe(w: { context: number; seqno: number }, thread: string): string {
    const n = this.names.get(w.context);
    return `fence ${w.context}:${w.seqno} (driver ${n?.driver ?? '?'}, timeline ${n?.timeline ?? '?'}) by ${thread}`;
  }

  event(e: KernelEvent): void {
    if (e.type === 'fence-init') {
      const n = this.names.get(e.context);
      if (!n || n.driver !== e.driver || n.timeline !== e.timeline)
        this.names.set(e.context, { driver: e.driver, timeline: e.timeline });
    } else if (e.type === 'fence-wait-start') {
      const w: OpenWait = {
        fence: e.fence,
        context: e.context,
        seqno: e.seqno,
        step: e.step,
        tNs: e.tNs,
      };
      const list = this.open.get(e.thread);
      if (list) list.push(w);
      else this.open.set(e.thread, [w]);
    } else if (e.type === 'fence-wait-end') {
      const list = this.open.get(e.thread);
      if (!list) return;
      let i = list.length - 1;
      while (i >= 0 && list[i]!.fence !== e.fence) i--;
      if (i < 0) return;
      const w = list[i]!;
      list.splice(i, 1);
      if (list.length === 0) this.open.delete(e.thread);
      const took = e.tNs - w.tNs;
      if (this.slowNs !== null && took > this.slowNs) {
        this.sink.report(
          {
            rule: 'fence.wait_slow',
            severity: 'warn',
            headline: `WARNING: wait on ${this.describe(w, e.thread)} took ${ms(took)} (threshold ${ms(this.slowNs)})`,
            body:
              `The thread blocked in dma_fence_wait for ${ms(took)}. The fence's signaller (hardware ring, scheduler job, or the fence it waits for in turn) is the place to look; ` +
              'a wait longer than a frame or a job timeout is what users see as a stutter or a hang.',
            at: [w.step, e.step],
            data: { context: w.context, seqno: w.seqno, thread: e.thread, durationNs: took },
          },
          e,
        );
      }
    }
  }

  end(endNs: number): void {
    for (const [thread, list] of this.open) {
      for (const w of list) {
        this.sink.report(
          {
            rule: 'fence.wait_unfinished',
            severity: 'info',
            headline: `INFO: wait on ${this.describe(w, thread)} never ended (blocked for ${ms(endNs - w.tNs)} at the end)`,
            body:
              'dma_fence_wait_start without its dma_fence_wait_end: the thread was still blocked on this fence when the run ended or the trace was cut. ' +
              'In a trace this can be the capture window ending; in a run it is a thread that never got its fence.',
            at: [w.step],
            thread,
            data: { context: w.context, seqno: w.seqno, thread, blockedNs: endNs - w.tNs },
          },
          null,
        );
      }
    }
    this.open.clear();
  }
}

/** `fence.wait_unfinished`, `fence.wait_slow`. */
export const fenceWaitRule: EventRuleFactory = (sink, opts) => new FenceWaitRule(sink, opts);
