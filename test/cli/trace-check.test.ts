/**
 * `dmabuf-lab trace-check` end to end: exit codes as `run`, the text and
 * `--json` reports with line numbers and fence identities, standard input,
 * `--slow-wait`, `--trace` / `--report` through the run's writers, and
 * `run --ftrace` read back.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ChromeTrace } from '../../src/trace/index.ts';
import { traceProblems } from '../trace/validate-trace.ts';

const root = process.cwd();
const bin = join(root, 'bin/dmabuf-lab.js');
const dir = mkdtempSync(join(tmpdir(), 'dmabuf-lab-tc-'));
const CAPTURES = existsSync(join(root, '../../shared/data/traces'))
  ? join(root, '../../shared/data/traces')
  : '/work/shared/data/traces';
const merge = join(CAPTURES, 'linux-6.1-sw_sync-sync_merge.ftrace.txt');

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], input?: string): Promise<Ran> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [bin, ...args],
      { cwd: dir, env: { ...process.env, NO_COLOR: '1', CI: '1' }, timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

const swapped = join(dir, 'swapped.txt');
{
  const lines = readFileSync(merge, 'utf8').split('\n');
  const a = lines.findIndex((l) => l.includes('dma_fence_signaled') && l.endsWith('seqno=1'));
  const b = lines.findIndex((l) => l.includes('dma_fence_signaled') && l.endsWith('seqno=2'));
  [lines[a], lines[b]] = [lines[b]!, lines[a]!];
  writeFileSync(swapped, lines.join('\n'));
}

describe('dmabuf-lab trace-check', () => {
  it('a real capture: exit 0, the format, the summary table and a clean verdict', async () => {
    const r = await cli(['trace-check', merge]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /format: +ftrace \(tracing\/trace\) \(5-character flags\), 21 lines, 9 records \(dma_fence 9\)/,
    );
    expect(r.stdout).toMatch(/1226 +sw_sync:sync-cases +3 +3/);
    expect(r.stdout).toMatch(/verdict: +clean/);
  });

  it('a finding: exit 1; --json lists it with its line numbers and the fence identity', async () => {
    const text = await cli(['trace-check', swapped]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(
      /\[fence\.context_out_of_order\] WARNING: fence sw_sync:sync-cases:1226:2 signalled while earlier fences of context 1226 are pending/,
    );
    expect(text.stdout).toMatch(
      /thread sync-cases-136, time 66\.919449 s, line 16 \(lines 13, 16\)/,
    );
    const json = await cli(['trace-check', swapped, '--json']);
    expect(json.code).toBe(1);
    const j = JSON.parse(json.stdout) as {
      findings: { rule: string; step: number; data: Record<string, unknown> }[];
      exitCode: number;
      format: string;
    };
    expect(j.exitCode).toBe(1);
    expect(j.format).toBe('ftrace (tracing/trace)');
    expect(j.findings).toHaveLength(1);
    expect(j.findings[0]).toMatchObject({ rule: 'fence.context_out_of_order', step: 16 });
    expect(j.findings[0]!.data).toMatchObject({
      context: 1226,
      seqno: 2,
      pending: [1],
      lines: [13, 16],
    });
  });

  it('reads standard input with -', async () => {
    const r = await cli(['trace-check', '-', '--json'], readFileSync(swapped, 'utf8'));
    expect(r.code).toBe(1);
    expect((JSON.parse(r.stdout) as { file: string }).file).toBe('-');
  });

  it('usage errors exit 2: a missing file, a file that is not a trace, a bad --slow-wait', async () => {
    const missing = await cli(['trace-check', 'nope.txt']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/does not exist/);
    writeFileSync(join(dir, 'prose.txt'), 'hello\nworld\n');
    const prose = await cli(['trace-check', 'prose.txt']);
    expect(prose.code).toBe(2);
    expect(prose.stderr).toMatch(/does not look like a kernel trace/);
    const bad = await cli(['trace-check', merge, '--slow-wait', 'soon']);
    expect(bad.code).toBe(2);
  });

  it('--slow-wait names the fence, its timeline and the waiting thread', async () => {
    const file = join(dir, 'wait.txt');
    writeFileSync(
      file,
      [
        '  a-1 [000] .....  1.000000: dma_fence_init: driver=gpu timeline=ring0 context=5 seqno=1',
        '  b-2 [001] .....  1.000100: dma_fence_wait_start: driver=gpu timeline=ring0 context=5 seqno=1',
        '  i-0 [000] d.h1.  1.250100: dma_fence_signaled: driver=gpu timeline=ring0 context=5 seqno=1',
        '  b-2 [001] .....  1.250200: dma_fence_wait_end: driver=detached-driver timeline=signaled-timeline context=5 seqno=1',
      ].join('\n'),
    );
    expect((await cli(['trace-check', file])).code).toBe(0);
    const slow = await cli(['trace-check', file, '--slow-wait', '100ms']);
    expect(slow.code).toBe(1);
    expect(slow.stdout).toMatch(
      /\[fence\.wait_slow\] WARNING: wait on fence 5:1 \(driver gpu, timeline ring0\) by b-2 took 250\.1 ms/,
    );
  });

  it("--trace and --report go through the run's writers", async () => {
    const r = await cli([
      'trace-check',
      swapped,
      '--trace',
      'out/tc.json',
      '--report',
      'out/tc.html',
    ]);
    expect(r.code).toBe(1);
    const trace = JSON.parse(readFileSync(join(dir, 'out/tc.json'), 'utf8')) as ChromeTrace;
    expect(traceProblems(trace)).toEqual([]);
    expect(
      trace.traceEvents.some(
        (e) => e.cat === 'splat' && e.args?.rule === 'fence.context_out_of_order',
      ),
    ).toBe(true);
    expect(trace.traceEvents.some((e) => e.ph === 'M' && e.args?.name === 'sync-cases-136')).toBe(
      true,
    );
    const html = readFileSync(join(dir, 'out/tc.html'), 'utf8');
    expect(html).toContain('fence.context_out_of_order');
    expect(html).toContain('sw_sync:sync-cases');
  });

  it("run --ftrace writes the model's run in the kernel's text, which trace-check reads back clean", async () => {
    const run = await cli(['run', 'gpu-hang-recovery', '--ftrace', 'gpu.ftrace']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/ftrace: +\.\/gpu\.ftrace/);
    const text = readFileSync(join(dir, 'gpu.ftrace'), 'utf8');
    expect(text).toMatch(/^# tracer: nop/);
    expect(text).toMatch(
      / drm_sched_job_queue: dev=gpu0, fence=\d+:1, ring=gpu0, job count:0, hw job count:0, client_id:0$/m,
    );
    expect(text).toMatch(
      / dma_fence_destroy: driver=detached-driver timeline=signaled-timeline context=\d+ seqno=\d+$/m,
    );
    const back = await cli(['trace-check', 'gpu.ftrace']);
    expect(back.code).toBe(0);
    expect(back.stdout).toMatch(/gpu_scheduler 6\.17/);
  });
});
