import { Kernel } from '../../src/kernel/index.ts';
import type { RunResult } from '../../src/kernel/index.ts';
import { SW_SYNC_PATH, UserProcess } from '../../src/fence/index.ts';
import type { SyncFenceInfo } from '../../src/fence/index.ts';

/** `sw_sync_timeline_create()`: open a new timeline; its fd. */
export function timelineCreate(p: UserProcess): number {
  const fd = p.open(SW_SYNC_PATH);
  if (fd < 0) throw new Error(`open sw_sync: ${fd}`);
  return fd;
}

/** `sw_sync_timeline_create_fence(timeline, value)`: the new sync_file fd (or the errno). */
export async function createFence(
  p: UserProcess,
  timeline: number,
  value: number,
): Promise<number> {
  const arg = { value, name: 'fence', fence: -1 };
  const r = await p.ioctl(timeline, 'SW_SYNC_IOC_CREATE_FENCE', arg);
  return r < 0 ? r : arg.fence;
}

/** `sw_sync_timeline_inc(timeline, count)`. */
export async function inc(p: UserProcess, timeline: number, count: number): Promise<number> {
  return p.ioctl(timeline, 'SW_SYNC_IOC_INC', count);
}

/** `sync_file_merge(fd1, fd2)`: the merged fd or the errno. */
export async function merge(
  p: UserProcess,
  fd1: number,
  fd2: number,
  name = 'merged',
): Promise<number> {
  const arg = { name, fd2, fence: -1, flags: 0, pad: 0 };
  const r = await p.ioctl(fd1, 'SYNC_IOC_MERGE', arg);
  return r < 0 ? r : arg.fence;
}

/** Both calls of SYNC_IOC_FILE_INFO: name, status and every leaf. */
export async function fileInfo(
  p: UserProcess,
  fd: number,
): Promise<{ name: string; status: number; num: number; fences: SyncFenceInfo[] } | number> {
  const first: Record<string, unknown> = { numFences: 0, flags: 0, pad: 0 };
  const r1 = await p.ioctl(fd, 'SYNC_IOC_FILE_INFO', first);
  if (r1 < 0) return r1;
  const fences: SyncFenceInfo[] = [];
  const second: Record<string, unknown> = {
    numFences: first.numFences,
    flags: 0,
    pad: 0,
    syncFenceInfo: fences,
  };
  const r2 = await p.ioctl(fd, 'SYNC_IOC_FILE_INFO', second);
  if (r2 < 0) return r2;
  return {
    name: second.name as string,
    status: second.status as number,
    num: second.numFences as number,
    fences,
  };
}

/** `sync_fence_status`: the file's status from the one-call form. */
export async function status(p: UserProcess, fd: number): Promise<number> {
  const arg: Record<string, unknown> = { numFences: 0 };
  const r = await p.ioctl(fd, 'SYNC_IOC_FILE_INFO', arg);
  return r < 0 ? r : (arg.status as number);
}

/** `sync_fence_wait(fd, timeout_ms)`: poll for POLLIN; 1 ready, 0 timeout. */
export async function pollIn(p: UserProcess, fd: number, timeoutMs: number): Promise<number> {
  return p.poll([{ fd, events: 1 }], timeoutMs);
}

export type { Kernel };

/**
 * Run `body` in one thread of a fresh `UserProcess` named `igt` (the kernel's
 * sync tests are IGT programs); a run failure is rethrown.
 */
export async function userRun<T>(
  body: (p: UserProcess, k: Kernel) => Promise<T>,
  opts: { seed: number; thread?: string },
): Promise<{ value: T; result: RunResult; k: Kernel }> {
  const k = new Kernel({ seed: opts.seed });
  const p = new UserProcess(k, 'igt');
  let value: T | undefined;
  p.spawn(opts.thread ?? 'igt', async () => {
    value = await body(p, k);
  });
  const result = await k.run();
  if (result.failure) throw new Error(result.failure.message, { cause: result.failure.error });
  return { value: value as T, result, k };
}
