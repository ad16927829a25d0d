/**
 * trace-check throughput and memory on a synthetic 10^6-line trace (6.17
 * drm_sched jobs with their scheduled / finished / hardware fences, waits,
 * dependencies and unrelated sched_switch lines), against the floor
 * measured in the same run: a process that only reads the same file (a
 * `createReadStream`) and splits it into lines. trace-check reads the file
 * as the CLI does (`checkTraceFile`: two halves of one buffer, read in
 * turns). Each side runs in its own process (so each has its own peak
 * RSS), alternating, median of five. Memory flatness: peak RSS of the same check on a 2·10^5-line file
 * next to the 10^6-line one.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './result.ts';
import { median } from './result.ts';

const LINES = 1_000_000;
const SMALL = 200_000;
const REPEATS = 5;

function ts(ns: number): string {
  const us = Math.floor(ns / 1000);
  return `${String(Math.floor(us / 1e6)).padStart(5)}.${String(us % 1e6).padStart(6, '0')}`;
}

/** A clean synthetic trace of about `n` lines (trace file layout, 5-character flags). */
export function syntheticTrace(n: number): string {
  const out: string[] = [
    '# tracer: nop',
    '#',
    '# synthetic: drm_sched jobs for the trace-check benchmark',
  ];
  let t = 1_000_000_000;
  const line = (comm: string, pid: number, flags: string, ev: string, payload: string): void => {
    t += 1000;
    out.push(
      `${comm.padStart(16)}-${String(pid).padEnd(7)} [00${pid % 4}] ${flags} ${ts(t)}: ${ev}: ${payload}`,
    );
  };
  const rings = ['gfx_0.0.0', 'sdma0', 'comp_1.0.0', 'vcn_dec'];
  const hwSeq = [0, 0, 0, 0];
  const seq = new Array<number>(8).fill(0);
  let job = 0;
  while (out.length < n) {
    const e = job % 8;
    const r = e % 4;
    const base = 1000 + 2 * e;
    const s = ++seq[e]!;
    const hw = 10 + r;
    const h = ++hwSeq[r]!;
    const comm = `client${e}`;
    const pid = 2000 + e;
    const ring = rings[r]!;
    const f = (ctx: number, sq: number, drv = 'drm_sched', tl = ring): string =>
      `driver=${drv} timeline=${tl} context=${ctx} seqno=${sq}`;
    line(comm, pid, '.....', 'dma_fence_init', f(base, s));
    line(comm, pid, '.....', 'dma_fence_init', f(base + 1, s));
    line(
      comm,
      pid,
      '.....',
      'drm_sched_job_queue',
      `dev=0000:0b:00.0, fence=${base + 1}:${s}, ring=${ring}, job count:0, hw job count:1, client_id:${e}`,
    );
    if (job % 4 === 3 && s > 1)
      line(
        comm,
        pid,
        '.....',
        'drm_sched_job_add_dep',
        `fence=${base + 1}:${s} depends on fence=${1000 + 2 * ((e + 1) % 8) + 1}:${Math.max(1, seq[(e + 1) % 8]!)}`,
      );
    line(
      'sched-worker',
      77 + r,
      '.....',
      'drm_sched_job_run',
      `dev=0000:0b:00.0, fence=${base + 1}:${s}, ring=${ring}, job count:0, hw job count:1, client_id:${e}`,
    );
    line('sched-worker', 77 + r, '.....', 'dma_fence_init', f(hw, h, 'amdgpu', ring));
    line('sched-worker', 77 + r, 'd..1.', 'dma_fence_signaled', f(base, s));
    line(
      'sched-worker',
      77 + r,
      '.....',
      'sched_switch',
      `prev_comm=sched-worker prev_pid=${77 + r} prev_prio=120 prev_state=S ==> next_comm=swapper/${r} next_pid=0 next_prio=120`,
    );
    if (job % 10 === 0) line(comm, pid, '.....', 'dma_fence_wait_start', f(base + 1, s));
    line('<idle>', 0, 'd.h1.', 'dma_fence_signaled', f(hw, h, 'amdgpu', ring));
    line('<idle>', 0, 'd.h1.', 'drm_sched_job_done', `fence=${base + 1}:${s} signaled`);
    line('<idle>', 0, 'd.h1.', 'dma_fence_signaled', f(base + 1, s));
    if (job % 10 === 0)
      line(
        comm,
        pid,
        '.....',
        'dma_fence_wait_end',
        f(base + 1, s, 'detached-driver', 'signaled-timeline'),
      );
    line(
      'kworker/u64:1',
      31,
      '.....',
      'dma_fence_destroy',
      f(base, s, 'detached-driver', 'signaled-timeline'),
    );
    line(
      'kworker/u64:1',
      31,
      '.....',
      'dma_fence_destroy',
      f(hw, h, 'detached-driver', 'signaled-timeline'),
    );
    line(
      'kworker/u64:1',
      31,
      '.....',
      'dma_fence_destroy',
      f(base + 1, s, 'detached-driver', 'signaled-timeline'),
    );
    job++;
  }
  return `${out.join('\n')}\n`;
}

interface Measured {
  lines: number;
  ms: number;
  maxRssKb: number;
  findings: number;
}

const worker = fileURLToPath(new URL('./child/trace-check-worker.ts', import.meta.url));

function measure(mode: 'floor' | 'check', file: string): Measured {
  const out = execFileSync(process.execPath, ['--import', 'tsx', worker, mode, file], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out.trim().split('\n').pop()!) as Measured;
}

export function benchTraceCheck(): BenchResult[] {
  const dir = mkdtempSync(join(tmpdir(), 'dmabuf-lab-bench-'));
  try {
    const big = join(dir, 'big.txt');
    const small = join(dir, 'small.txt');
    writeFileSync(big, syntheticTrace(LINES));
    writeFileSync(small, syntheticTrace(SMALL));
    const floor: Measured[] = [];
    const check: Measured[] = [];
    for (let i = 0; i < REPEATS; i++) {
      floor.push(measure('floor', big));
      check.push(measure('check', big));
    }
    const smallCheck = measure('check', small);
    if (check.some((c) => c.findings > 0)) throw new Error('the synthetic trace should be clean');
    const lines = check[0]!.lines;
    const floorRate = median(floor.map((m) => m.lines / (m.ms / 1000)));
    const checkRate = median(check.map((m) => m.lines / (m.ms / 1000)));
    const floorMb = median(floor.map((m) => m.maxRssKb / 1024));
    const checkMb = median(check.map((m) => m.maxRssKb / 1024));
    const smallMb = smallCheck.maxRssKb / 1024;
    return [
      {
        name: `trace-check lines/s (${(lines / 1e6).toFixed(1)}M-line trace)`,
        value: checkRate,
        unit: 'lines/s',
        baseline: floorRate,
        ratio: checkRate / floorRate,
        note: 'baseline: read the same file and split it into lines; target >= 0.3',
      },
      {
        name: 'trace-check peak RSS (10^6 lines)',
        value: checkMb,
        unit: 'MB',
        baseline: floorMb,
        ratio: checkMb / floorMb,
        note: "baseline: the read-and-split floor's peak RSS",
      },
      {
        name: 'trace-check peak RSS, 10^6 vs 2x10^5 lines',
        value: checkMb,
        unit: 'MB',
        baseline: smallMb,
        ratio: checkMb / smallMb,
        note: 'flat in the file size: ratio close to 1',
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
