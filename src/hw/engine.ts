import { dmaFenceCompleted } from '../fence/index.ts';
import { Errno, raiseIrq, U32_MAX, wholeArg } from '../kernel/index.ts';
import type { Kernel } from '../kernel/index.ts';

type TimerEntry = ReturnType<Kernel['addTimer']>;

declare module '../kernel/events.ts' {
  interface KernelEventMap {
    /** A command starts executing on an engine. */
    'engine-start': { engine: string; seqno: number; durationNs: number; hang: boolean };
    /** A command completed: the engine wrote its seqno and raised its interrupt. */
    'engine-complete': { engine: string; seqno: number };
    /** The engine was reset; `aborted` is the seqno of the command it dropped, or null. */
    'engine-reset': { engine: string; aborted: number | null };
  }
}

/** Lifecycle of one ring command. */
export type EngineCommandState = 'queued' | 'running' | 'hung' | 'done' | 'aborted';

/** One command in an engine's ring: run for `durationNs`, then write `seqno` and interrupt. */
export interface EngineCommand {
  /** The 32-bit value the engine writes to its seqno location on completion. */
  readonly seqno: number;
  readonly durationNs: number;
  /** Force a hang (scenarios); hangs are also injected with `k.inject('device', '<engine>:hang')`. */
  readonly hang?: boolean;
  /** Driver data (the job). */
  readonly tag?: unknown;
  /** @internal */
  state?: EngineCommandState;
}

/** Options of an `Engine`. */
export interface EngineOptions {
  name: string;
  /** Interrupt line raised on every completion. */
  irq: number;
  /** Ring capacity in commands (default 64). */
  ringSize?: number;
  /**
   * First seqno of the timeline, as a signed or unsigned 32-bit value
   * (e.g. -127, xe's XE_FENCE_INITIAL_SEQNO, so the timeline wraps early).
   * The seqno location starts one below it. Default 1.
   */
  initialSeqno?: number;
}

/**
 * A simulated command engine: a ring of commands executed one at a time in
 * virtual time, a 32-bit seqno location the engine writes as each command
 * completes, and an interrupt on completion. Commands may hang (never
 * complete) until the driver resets the engine; hangs are injected through
 * the chooser (`device` kind, site `<name>:hang`) or requested per command.
 * The engine may also reset by itself as a command starts (site
 * `<name>:reset`): the command is dropped and `onAbort` reports it.
 * Accessing the engine while its device is runtime-suspended is reported.
 *
 * Device timers run in the kernel's scheduler (no thread), like hardware.
 *
 * @kernel none: simulated hardware (a command ring, a seqno write-back and a completion interrupt)
 */
export class Engine {
  readonly name: string;
  readonly irq: number;
  readonly ringSize: number;
  /** The 32-bit seqno location (`u32` in memory) the engine writes on completion. */
  hwSeqno: number;
  /** First seqno of the timeline as u32. */
  readonly initialSeqno: number;
  /** Commands consumed so far (the ring's read pointer). */
  readPointer = 0;
  /** Commands completed. */
  completed = 0;
  /** Resets done. */
  resets = 0;
  /**
   * The fence context whose seqnos this engine writes (set by the driver):
   * every write of the seqno location is reported to the rule book as the
   * context's completed seqno (`dmaFenceCompleted`).
   */
  fenceContext: number | null = null;
  /** Whether the device is powered (drivers with runtime PM keep it in sync). */
  powered = true;
  /**
   * Called (in a hardirq context: the engine's reset interrupt) with the
   * command a spontaneous, injected engine reset dropped; the driver
   * completes its fence with an error.
   */
  onAbort: ((cmd: EngineCommand) => void) | null = null;
  private readonly ring: EngineCommand[] = [];
  private head = 0;
  private current: EngineCommand | null = null;
  private timer: TimerEntry | null = null;

  constructor(
    readonly kernel: Kernel,
    opts: EngineOptions,
  ) {
    this.name = opts.name;
    this.irq = opts.irq;
    this.ringSize = opts.ringSize ?? 64;
    this.initialSeqno = (opts.initialSeqno ?? 1) >>> 0;
    this.hwSeqno = (this.initialSeqno - 1) >>> 0;
  }

  /** Commands in the ring not yet completed (including the running one). */
  get inflight(): number {
    return this.ring.length - this.head;
  }

  /** The command running (or hung) now. */
  get running(): EngineCommand | null {
    return this.current;
  }

  /** True if the running command hangs. */
  get hung(): boolean {
    return this.current?.state === 'hung';
  }

  /**
   * Write a command to the ring and ring the doorbell. `-ENOSPC` when the
   * ring is full. Any context (no sleeping). Touching a suspended device is
   * reported (`hw.access_while_suspended`) and the command is dropped.
   */
  submit(cmd: EngineCommand): number {
    wholeArg(`Engine.submit(cmd) of ${this.name}`, 'cmd.durationNs', cmd.durationNs, 'of nanoseconds');
    wholeArg(`Engine.submit(cmd) of ${this.name}`, 'cmd.seqno', cmd.seqno, '(the ring\'s 32-bit seqno, u32)', U32_MAX);
    if (!this.powered) {
      this.kernel.splat({
        rule: 'hw.access_while_suspended',
        severity: 'bug',
        headline: `BUG: ${this.name}: ring doorbell written while the device is runtime-suspended`,
        body: 'The device is powered down: the write is lost (a real device may hang the bus). Hold a runtime-PM reference (taken before arming the job) while the hardware runs it.',
        data: { engine: this.name, seqno: cmd.seqno },
      });
      return -Errno.EIO;
    }
    if (this.inflight >= this.ringSize) return -Errno.ENOSPC;
    cmd.state = 'queued';
    this.ring.push(cmd);
    if (!this.current) this.startNext();
    return 0;
  }

  /** Ground truth for checkers: the command completed (not aborted). */
  isDone(cmd: EngineCommand): boolean {
    return cmd.state === 'done';
  }

  /**
   * Reset the engine: the running (hung) command is dropped and execution
   * continues with the next one. Returns the dropped command, or null.
   * Any context.
   */
  reset(): EngineCommand | null {
    const k = this.kernel;
    const cur = this.current;
    this.resets++;
    if (this.timer) {
      k.cancelTimer(this.timer);
      this.timer = null;
    }
    if (cur) {
      cur.state = 'aborted';
      this.current = null;
      this.retireHead();
    }
    if (k.events.active) k.emit('engine-reset', { engine: this.name, aborted: cur ? cur.seqno : null });
    this.startNext();
    return cur;
  }

  private retireHead(): void {
    this.ring[this.head] = undefined as unknown as EngineCommand;
    this.head++;
    this.readPointer++;
    if (this.head > 64 && this.head * 2 > this.ring.length) {
      this.ring.splice(0, this.head);
      this.head = 0;
    }
  }

  private startNext(): void {
    if (this.current || this.head >= this.ring.length) return;
    const k = this.kernel;
    const cmd = this.ring[this.head]!;
    this.current = cmd;
    if (k.inject('device', `${this.name}:reset`)) {
      // The engine resets by itself (firmware watchdog): the command is lost.
      cmd.state = 'aborted';
      this.current = null;
      this.resets++;
      this.retireHead();
      if (k.events.active) k.emit('engine-reset', { engine: this.name, aborted: cmd.seqno });
      const cb = this.onAbort;
      k.spawnContext('hardirq', `${this.name}:reset-irq`, (t) => {
        // A device interrupt handler: threadable under PREEMPT_RT rules.
        t.hardirqThreaded = true;
        cb?.(cmd);
      });
      this.startNext();
      return;
    }
    const hang = cmd.hang === true || k.inject('device', `${this.name}:hang`);
    cmd.state = hang ? 'hung' : 'running';
    if (k.events.active) k.emit('engine-start', { engine: this.name, seqno: cmd.seqno, durationNs: cmd.durationNs, hang });
    if (hang) return;
    this.timer = k.addTimer(k.nowNs + Math.max(0, cmd.durationNs), `${this.name}:cmd`, () => {
      this.timer = null;
      this.complete(cmd);
    });
  }

  private complete(cmd: EngineCommand): void {
    const k = this.kernel;
    cmd.state = 'done';
    this.hwSeqno = cmd.seqno >>> 0;
    if (this.fenceContext !== null) dmaFenceCompleted(k, this.fenceContext, this.hwSeqno, this.name);
    this.completed++;
    this.current = null;
    this.retireHead();
    if (k.events.active) k.emit('engine-complete', { engine: this.name, seqno: cmd.seqno });
    raiseIrq(k, this.irq);
    this.startNext();
  }
}

/**
 * 32-bit seqno completion test: `seqno` has completed when it is not later
 * than the engine's value in wrap-around arithmetic (xe_hw_fence's rule).
 *
 * @kernel xe_hw_fence_signaled, i915_seqno_passed
 */
export function seqno32Completed(seqno: number, hw: number): boolean {
  return ((((seqno >>> 0) - (hw >>> 0)) | 0) <= 0);
}
