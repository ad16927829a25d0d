/**
 * The threads of a trace: one per pid, named `comm-pid` after the first
 * record that names it, numbered from 1 in order of appearance (tid 0:
 * none, for records without a pid). Every record asks for its thread, so
 * pids below `DENSE_PIDS` find theirs in an array, without a map look-up.
 *
 * @kernel none: the trace reader's threads (the records' pid and comm
 *         columns, from struct task_struct)
 */
import type { KernelEvent } from '../../kernel/index.ts';
import type { RawRecord } from './record.ts';

/** Pids below this (the kernel's default `pid_max` is 32768 or 4194304) find their thread in an array. */
const DENSE_PIDS = 1 << 16;

/**
 * The threads of a trace (see the file comment).
 *
 * @kernel none: the trace reader's threads
 */
export class ThreadTable {
  private readonly byPid = new Map<number, { tid: number; name: string }>();
  private readonly names: string[] = [];
  private nextTid = 1;
  /** Thread ids (from 1; 0: none yet) of pids below `DENSE_PIDS`, without a map look-up per record. */
  private readonly tidByPid = new Int32Array(DENSE_PIDS);

  /**
   * @param spawn Where a `thread-spawn` event goes for each new thread
   *   (a consumer that keeps the events, a Chrome trace); null: none.
   */
  constructor(private readonly spawn: ((e: KernelEvent) => void) | null) {}

  /** The thread of `r`'s pid; `comm` cuts the task's comm out of the line (called for new pids only). */
  tidOf(r: RawRecord, comm: () => string): number {
    const pid = r.pid;
    if (pid < 0) return 0;
    if (pid < DENSE_PIDS) {
      const known = this.tidByPid[pid]!;
      if (known !== 0) return known;
    } else {
      const t = this.byPid.get(pid);
      if (t) return t.tid;
    }
    const name = `${comm() || '<...>'}-${pid}`;
    const tid = this.nextTid++;
    this.byPid.set(pid, { tid, name });
    if (pid < DENSE_PIDS) this.tidByPid[pid] = tid;
    this.names[tid] = name;
    if (this.spawn !== null)
      this.spawn({
        type: 'thread-spawn',
        tNs: r.tNs,
        step: r.lineNo,
        tid: 0,
        thread: name,
        context: 'process',
        parent: null,
      });
    return tid;
  }

  /** The name of thread `tid` (as `comm-pid`); undefined if none. */
  nameOf(tid: number): string | undefined {
    return this.names[tid];
  }

  /** The name of `r`'s thread: `<...>-pid` if it has none yet, `-` without a pid. */
  nameOfPid(r: RawRecord): string {
    return this.byPid.get(r.pid)?.name ?? (r.pid < 0 ? '-' : `<...>-${r.pid}`);
  }
}
