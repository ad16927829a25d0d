/**
 * A run of the model as kernel trace text (`run --ftrace FILE`): the
 * `tracing/trace` file of a `nop` tracer with the `dma_fence` events and the
 * 6.17 stable `gpu_scheduler` events, exactly in the kernel's formats.
 * Virtual time is the timestamp, simulated threads are the tasks (their
 * kernel thread id as pid; `<idle>-0` outside any thread), and the flags
 * column says whether a thread is a hard or soft IRQ context. Events the
 * kernel has no tracepoint for (callbacks, locks, the model's own) are left
 * out. `trace-check` reads it back.
 *
 * As the 6.17 kernel prints them: `dma_fence` context and seqno are u32
 * (truncated), the scheduler's are u64; `destroy` and the waits of a
 * signalled fence print the safe helpers' `detached-driver` /
 * `signaled-timeline`.
 *
 * @kernel include/trace/events/dma_fence.h, drivers/gpu/drm/scheduler/gpu_scheduler_trace.h (6.17)
 */
import type { KernelEvent } from '../../kernel/index.ts';

interface Names {
  driver: string;
  timeline: string;
  signalled: boolean;
}

/**
 * Comment lines the writer adds for what the kernel's text cannot say and
 * the model knows: contexts whose seqnos compare as 64-bit numbers, and
 * contexts whose driver does not declare in-order signalling. Kernel tools
 * skip `#` lines; trace-check reads these (a real trace has none: every
 * context is then judged with the 32-bit rule the u32 columns imply, and
 * in order unless it is a container or stub).
 */
export const HINT_SEQNO64 = '# dmabuf-lab seqno64 contexts:';
export const HINT_UNORDERED = '# dmabuf-lab unordered contexts:';

const HEADER = [
  '#                                _-----=> irqs-off/BH-disabled',
  '#                               / _----=> need-resched',
  '#                              | / _---=> hardirq/softirq',
  '#                              || / _--=> preempt-depth',
  '#                              ||| / _-=> migrate-disable',
  '#                              |||| /     delay',
  '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION',
  '#              | |         |   |||||     |         |',
];

function timestamp(ns: number): string {
  const us = Math.floor(ns / 1000);
  const secs = Math.floor(us / 1e6);
  const frac = String(us % 1e6).padStart(6, '0');
  return `${String(secs).padStart(5)}.${frac}`;
}

function flagsOf(context: string | undefined): string {
  if (context === 'hardirq') return 'd.h1.';
  if (context === 'softirq') return '..s1.';
  return '.....';
}

/** Turns model events into trace lines (one instance per run). */
export class FtraceWriter {
  private readonly threads = new Map<number, { name: string; context: string }>();
  private spawned = 0;
  private readonly fences = new Map<number, Names>();
  private readonly seqno64 = new Set<number>();
  private readonly unordered = new Set<number>();
  readonly lines: string[] = [];

  private task(tid: number): string {
    if (tid === 0) return `${'<idle>'.padStart(16)}-0       [000] .....`;
    const t = this.threads.get(tid);
    const comm = (t?.name ?? `thread${tid}`).replace(/\s/g, '_');
    return `${comm.padStart(16)}-${String(tid).padEnd(7)} [000] ${flagsOf(t?.context)}`;
  }

  private out(e: KernelEvent, name: string, payload: string): void {
    this.lines.push(`${this.task(e.tid)} ${timestamp(e.tNs)}: ${name}: ${payload}`);
  }

  private fence(e: { fence: number; context: number; seqno: number }, safe: boolean): string {
    const n = this.fences.get(e.fence);
    const detached = safe && n?.signalled === true;
    const driver = detached ? 'detached-driver' : (n?.driver ?? '');
    const timeline = detached ? 'signaled-timeline' : (n?.timeline ?? '');
    return `driver=${driver} timeline=${timeline} context=${e.context >>> 0} seqno=${e.seqno >>> 0}`;
  }

  /** Consume one event of the run, in order. */
  event(e: KernelEvent): void {
    // Only the events with a kernel tracepoint are written.
    // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check
    switch (e.type) {
      case 'thread-spawn':
        this.threads.set(++this.spawned, { name: e.thread, context: e.context });
        break;
      case 'switch':
        if (!this.threads.has(e.tid)) this.threads.set(e.tid, { name: e.to, context: 'process' });
        break;
      case 'fence-init':
        this.fences.set(e.fence, { driver: e.driver, timeline: e.timeline, signalled: false });
        if (e.seqno64) this.seqno64.add(e.context >>> 0);
        if (!e.inOrder) this.unordered.add(e.context >>> 0);
        this.out(e, 'dma_fence_init', this.fence(e, false));
        break;
      case 'fence-emit':
        this.out(e, 'dma_fence_emit', this.fence(e, true));
        break;
      case 'fence-enable-signal':
        this.out(e, 'dma_fence_enable_signal', this.fence(e, false));
        break;
      case 'fence-signal': {
        this.out(e, 'dma_fence_signaled', this.fence(e, false));
        const n = this.fences.get(e.fence);
        if (n) n.signalled = true;
        break;
      }
      case 'fence-wait-start':
        this.out(e, 'dma_fence_wait_start', this.fence(e, true));
        break;
      case 'fence-wait-end':
        this.out(e, 'dma_fence_wait_end', this.fence(e, true));
        break;
      case 'fence-destroy':
        this.out(e, 'dma_fence_destroy', this.fence(e, true));
        this.fences.delete(e.fence);
        break;
      case 'sched-job-queue':
      case 'sched-job-run':
        this.out(
          e,
          e.type === 'sched-job-queue' ? 'drm_sched_job_queue' : 'drm_sched_job_run',
          `dev=${e.dev}, fence=${e.fence}, ring=${e.sched}, job count:${e.jobCount}, hw job count:${e.hwJobCount}, client_id:${e.clientId}`,
        );
        break;
      case 'sched-job-add-dep':
        this.out(
          e,
          'drm_sched_job_add_dep',
          `fence=${e.fence} depends on fence=${e.depContext}:${e.depSeqno}`,
        );
        break;
      case 'sched-job-unschedulable':
        this.out(
          e,
          'drm_sched_job_unschedulable',
          `fence=${e.fence} depends on unsignalled fence=${e.depContext}:${e.depSeqno}`,
        );
        break;
      case 'sched-job-done':
        this.out(e, 'drm_sched_job_done', `fence=${e.fence} signaled`);
        break;
      default:
        break;
    }
  }

  /** The whole file: the `nop` tracer's header, then the lines. */
  text(comment: string | null = null): string {
    const n = this.lines.length;
    const head = [
      '# tracer: nop',
      '#',
      `# entries-in-buffer/entries-written: ${n}/${n}   #P:1`,
      ...(comment ? ['#', `# ${comment.replace(/\n/g, ' ')}`] : []),
      ...(this.seqno64.size
        ? [`${HINT_SEQNO64} ${[...this.seqno64].sort((a, b) => a - b).join(' ')}`]
        : []),
      ...(this.unordered.size
        ? [`${HINT_UNORDERED} ${[...this.unordered].sort((a, b) => a - b).join(' ')}`]
        : []),
      '#',
      ...HEADER,
    ];
    return `${[...head, ...this.lines].join('\n')}\n`;
  }
}

/** A run's events as kernel trace text (see `FtraceWriter`). */
export function toFtraceText(
  events: readonly KernelEvent[],
  comment: string | null = null,
): string {
  const w = new FtraceWriter();
  for (const e of events) w.event(e);
  return w.text(comment);
}
