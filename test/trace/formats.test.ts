/**
 * One fixture per container and event generation (synthetic, written from
 * the formats in shared/reference/kernel-traces.md and labelled so in their
 * first line): each is detected, parsed completely, and read into the
 * events and findings it holds.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkTraceText } from '../../src/trace/index.ts';

function fixture(name: string): string {
  const text = readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
  expect(text.split('\n').slice(0, 2).join('\n')).toMatch(/^# synthetic: /m);
  return text;
}

function check(name: string, opts = {}) {
  const r = checkTraceText(fixture(name), { collectEvents: true, ...opts });
  expect(r.malformed).toEqual([]);
  return r;
}

describe('containers', () => {
  it('trace_pipe with the tgid column and 4-character flags: comm with ":" and "/", idle in IRQ context, a wait pair', () => {
    const r = check('synthetic-trace_pipe-tgid-4flags.txt');
    expect(r.format).toBe('ftrace (trace_pipe)');
    expect(r.flagWidths).toEqual({ 4: 8 });
    expect(r.unknownEvents).toEqual({ sched_switch: 1 });
    expect(r.findings).toEqual([]);
    const waits = r.events!.filter(
      (e) => e.type === 'fence-wait-start' || e.type === 'fence-wait-end',
    );
    expect(waits.map((e) => (e as { thread: string }).thread)).toEqual([
      'umr:cs0-6498',
      'umr:cs0-6498',
    ]);
  });

  it('trace-cmd report (no flags, padded names) with 6.17 gpu_scheduler and amdgpu events: the job runs after its dependency signalled', () => {
    const r = check('synthetic-trace-cmd-report.txt');
    expect(r.format).toBe('trace-cmd report');
    expect(r.families).toEqual({ dma_fence: 5, 'gpu_scheduler 6.17': 5, amdgpu: 3 });
    expect(r.findings).toEqual([]);
    expect(r.rings).toEqual([
      expect.objectContaining({
        ring: 'gfx_0.0.0',
        jobs: 1,
        queueToRunMedianNs: 980_000,
        runToDoneMedianNs: 3_000_000,
      }),
    ]);
    const types = r
      .events!.map((e) => e.type)
      .filter((t) => t.startsWith('sched') || t.startsWith('amdgpu'));
    expect(types).toEqual([
      'amdgpu-cs-ioctl',
      'sched-job-queue',
      'sched-job-add-dep',
      'sched-job-unschedulable',
      'sched-job-run',
      'amdgpu-sched-run-job',
      'amdgpu-ib-pipe-sync',
      'sched-job-done',
    ]);
  });

  it('trace-cmd report -l -t: CPU glued to the flags, nanosecond timestamps', () => {
    const r = check('synthetic-trace-cmd-latency-ns.txt');
    expect(r.layouts).toEqual({ 'trace-cmd-latency': 3 });
    expect(r.events!.filter((e) => e.type === 'fence-signal').map((e) => e.tNs)).toEqual([
      1021_427_376_900,
    ]);
    expect(r.findings).toEqual([]);
  });

  it('perf script: system:event names, a comm with a space, i915\'s "signaled" timeline', () => {
    const r = check('synthetic-perf-script.txt');
    expect(r.format).toBe('perf script');
    expect(r.unknownEvents).toEqual({ sched_process_exec: 1 });
    expect(r.findings).toEqual([]);
    const init = r.events!.find((e) => e.type === 'thread-spawn');
    expect(init).toMatchObject({ thread: 'Web Content-4242' });
  });

  it('Perfetto systrace export: key=value payloads in proto order, 6.17 jobs by fence_context / fence_seqno', () => {
    const r = check('synthetic-systrace-export.txt');
    expect(r.format).toBe('systrace (Perfetto export)');
    expect(r.families).toEqual({ dma_fence: 3, 'gpu_scheduler 6.17': 3 });
    expect(r.rings).toEqual([expect.objectContaining({ ring: 'gfx_0.0.0', jobs: 1 })]);
    expect(r.findings).toEqual([]);
  });

  it('Perfetto text proto with the old drm_sched trio and the 6.17 set', () => {
    const r = check('synthetic-perfetto-sched.textproto');
    expect(r.format).toBe('perfetto textproto');
    expect(r.families).toEqual({ 'gpu_scheduler legacy': 3, 'gpu_scheduler 6.17': 4 });
    expect(r.rings.map((g) => `${g.ring} ${g.jobs}`)).toEqual(['gfx_0.0.0 1', 'ring0 1']);
    expect(r.findings).toEqual([]);
  });

  it('an overflow marker is a gap: the findings it can fool say so', () => {
    const r = check('synthetic-lost-events.txt');
    expect(r.window.lost).toEqual([{ line: 4, cpu: 0, lost: 1024 }]);
    const order = r.findings.find((f) => f.rule === 'fence.context_out_of_order')!;
    expect(order.data).toMatchObject({ afterGap: true });
    expect(order.body).toMatch(/LOST N EVENTS\] at line 4/);
    expect(r.findings.map((f) => f.rule).sort()).toEqual([
      'fence.context_out_of_order',
      'trace.fence_pending',
      'trace.lost_events',
    ]);
  });
});

describe('gpu_scheduler generations', () => {
  it('legacy (pointers): queue and run pair on ring + id, run and done on the reused fence pointer in order', () => {
    const r = check('synthetic-sched-legacy.txt');
    expect(r.families).toEqual({ 'gpu_scheduler legacy': 7, dma_fence: 1 });
    expect(r.findings).toEqual([]);
    const jobs = r
      .events!.filter((e) => e.type.startsWith('sched-job'))
      .map((e) => `${e.type}:${(e as { job: number }).job}`);
    expect(jobs).toEqual([
      'sched-job-queue:1',
      'sched-job-queue:2',
      'sched-job-run:1',
      'sched-job-unschedulable:2',
      'sched-job-done:1',
      'sched-job-run:2',
      'sched-job-done:2',
    ]);
  });

  it('transitional layouts: fence=(context:A, seqno:B) with dependencies:{...}, and fence=A:B, id=N', () => {
    const r = check('synthetic-sched-transitional.txt');
    expect(r.findings).toEqual([]);
    const deps = r.events!.filter((e) => e.type === 'sched-job-add-dep');
    expect(
      deps.map(
        (e) =>
          `${(e as { depContext: number }).depContext}:${(e as { depSeqno: number }).depSeqno}`,
      ),
    ).toEqual(['3:40', '5:7']);
    expect(r.window.unknownJobEvents).toBe(1);
  });

  it('a job run before its dependency signalled is found in each generation', () => {
    const modern = checkTraceText(
      [
        '  a-1 [000] .....  1.000000: dma_fence_init: driver=amdgpu timeline=sdma0 context=3 seqno=41',
        '  a-1 [000] .....  1.000001: drm_sched_job_queue: dev=d, fence=665:1, ring=gfx, job count:0, hw job count:0, client_id:1',
        '  a-1 [000] .....  1.000002: drm_sched_job_add_dep: fence=665:1 depends on fence=3:41',
        '  w-2 [000] .....  1.000100: drm_sched_job_run: dev=d, fence=665:1, ring=gfx, job count:0, hw job count:1, client_id:1',
      ].join('\n'),
    );
    expect(modern.findings.map((f) => f.rule)).toEqual([
      'sched.run_before_dependency',
      'trace.fence_pending',
    ]);
    expect(modern.findings[0]!.data).toMatchObject({ lines: [3, 4], dependencies: ['3:41'] });
    const legacy = checkTraceText(
      [
        '  a-1 [000] .....  1.000000: dma_fence_init: driver=drm_sched timeline=ring0 context=9 seqno=5',
        '  a-1 [000] .....  1.000001: drm_sched_job: entity=e, id=7, fence=ff01, ring=ring1, job count:1, hw job count:0',
        '  w-2 [000] .....  1.000002: drm_sched_job_wait_dep: job ring=ring1, id=7, depends fence=ff09, context=9, seq=5',
        '  w-2 [000] .....  1.000003: drm_run_job: entity=e, id=7, fence=ff01, ring=ring1, job count:0, hw job count:1',
      ].join('\n'),
    );
    expect(legacy.findings.map((f) => f.rule)).toContain('sched.run_before_dependency');
  });

  it('a dependency on a job of the same scheduler only needs that job to have run; on another scheduler it must be done', () => {
    const lines = (depRing: string): string =>
      [
        `  a-1 [000] .....  1.000000: drm_sched_job_queue: dev=d, fence=11:1, ring=${depRing}, job count:0, hw job count:0, client_id:1`,
        `  a-1 [000] .....  1.000001: drm_sched_job_run: dev=d, fence=11:1, ring=${depRing}, job count:0, hw job count:1, client_id:1`,
        '  a-1 [000] .....  1.000002: drm_sched_job_queue: dev=d, fence=21:1, ring=gfx, job count:0, hw job count:1, client_id:1',
        '  a-1 [000] .....  1.000003: drm_sched_job_add_dep: fence=21:1 depends on fence=11:1',
        '  w-2 [000] .....  1.000004: drm_sched_job_run: dev=d, fence=21:1, ring=gfx, job count:0, hw job count:2, client_id:1',
      ].join('\n');
    expect(checkTraceText(lines('gfx')).findings).toEqual([]);
    expect(checkTraceText(lines('sdma')).findings.map((f) => f.rule)).toEqual([
      'sched.run_before_dependency',
    ]);
    // A dependency on the scheduled fence (finished context - 1) of a job that has not run yet.
    const scheduled = checkTraceText(
      [
        '  a-1 [000] .....  1.000000: drm_sched_job_queue: dev=d, fence=11:1, ring=gfx, job count:0, hw job count:0, client_id:1',
        '  a-1 [000] .....  1.000001: drm_sched_job_queue: dev=d, fence=21:1, ring=gfx, job count:0, hw job count:0, client_id:1',
        '  w-2 [000] .....  1.000002: drm_sched_job_unschedulable: fence=21:1 depends on unsignalled fence=10:1',
        '  w-2 [000] .....  1.000003: drm_sched_job_run: dev=d, fence=21:1, ring=gfx, job count:0, hw job count:1, client_id:1',
      ].join('\n'),
    );
    expect(scheduled.findings.map((f) => f.rule)).toEqual(['sched.run_before_dependency']);
    expect(scheduled.findings[0]!.body).toMatch(/scheduled fence of job 11:1/);
  });

  it('queue → run → done order: done without run, and run after done', () => {
    const r = checkTraceText(
      [
        '  a-1 [000] .....  1.000000: drm_sched_job_queue: dev=d, fence=11:1, ring=gfx, job count:0, hw job count:0, client_id:1',
        '  i-0 [000] d.h1.  1.000001: drm_sched_job_done: fence=11:1 signaled',
        '  w-2 [000] .....  1.000002: drm_sched_job_run: dev=d, fence=11:1, ring=gfx, job count:0, hw job count:1, client_id:1',
      ].join('\n'),
    );
    expect(r.findings.map((f) => f.data!.order)).toEqual([
      'completed without being run',
      'ran again after it completed',
    ]);
  });
});

describe('waits', () => {
  const WAIT = [
    '  a-1 [000] .....  1.000000: dma_fence_init: driver=gpu timeline=ring0 context=5 seqno=1',
    '  b-2 [001] .....  1.000100: dma_fence_wait_start: driver=gpu timeline=ring0 context=5 seqno=1',
    '  i-0 [000] d.h1.  1.250100: dma_fence_signaled: driver=gpu timeline=ring0 context=5 seqno=1',
    '  b-2 [001] .....  1.250200: dma_fence_wait_end: driver=detached-driver timeline=signaled-timeline context=5 seqno=1',
    '  a-1 [000] .....  1.300000: dma_fence_init: driver=gpu timeline=ring0 context=5 seqno=2',
    '  c-3 [001] .....  1.300100: dma_fence_wait_start: driver=gpu timeline=ring0 context=5 seqno=2',
  ].join('\n');

  it('--slow-wait reports a wait longer than the threshold, naming fence, timeline and thread; an unfinished wait is a warning', () => {
    const r = checkTraceText(WAIT, { slowWaitNs: 100e6 });
    expect(r.findings.map((f) => `${f.rule} ${f.severity}`)).toEqual([
      'fence.wait_slow warn',
      'fence.wait_unfinished info',
      'trace.fence_pending info',
    ]);
    expect(r.findings[0]!.headline).toMatch(
      /fence 5:1 \(driver gpu, timeline ring0\) by b-2 took 250.1 ms/,
    );
    expect(r.findings[1]!.headline).toMatch(
      /fence 5:2 \(driver gpu, timeline ring0\) by c-3 never ended/,
    );
    expect(r.findings[1]!.thread).toBe('c-3');
    expect(checkTraceText(WAIT).findings.map((f) => f.rule)).toEqual([
      'fence.wait_unfinished',
      'trace.fence_pending',
    ]);
  });
});

describe('robustness', () => {
  it('a malformed line is reported with its line number and skipped; the rest is read', () => {
    const r = checkTraceText(
      [
        '  a-1 [000] .....  1.000000: dma_fence_init: driver=gpu timeline=ring0 context=5 seqno=1',
        'this is not a trace line',
        '  a-1 [000] .....  1.000001: dma_fence_signaled: driver=gpu timeline=ring0 context=x seqno=1',
        '  a-1 [000] .....  1.000002: dma_fence_signaled: driver=gpu timeline=ring0 context=5 seqno=1',
      ].join('\n'),
    );
    expect(r.malformed.map((m) => m.line)).toEqual([2, 3]);
    expect(r.records).toBe(2);
    expect(r.findings).toEqual([]);
  });

  it('events of fences created before the trace began are counted, not reported', () => {
    const r = checkTraceText(
      '  a-1 [000] .....  1.000002: dma_fence_signaled: driver=gpu timeline=ring0 context=5 seqno=1\n',
    );
    expect(r.window.unknownOriginEvents).toBe(1);
    expect(r.findings).toEqual([]);
  });

  it('context and seqno of dma_fence events are u32: a 32-bit context wrapping 4294967295 → 0 is in order', () => {
    const r = checkTraceText(
      [
        '  a-1 [000] .....  1.000000: dma_fence_init: driver=gpu timeline=ring0 context=5 seqno=4294967295',
        '  a-1 [000] .....  1.000001: dma_fence_init: driver=gpu timeline=ring0 context=5 seqno=0',
        '  i-0 [000] d.h1.  1.000002: dma_fence_signaled: driver=gpu timeline=ring0 context=5 seqno=4294967295',
        '  i-0 [000] d.h1.  1.000003: dma_fence_signaled: driver=gpu timeline=ring0 context=5 seqno=0',
      ].join('\n'),
    );
    expect(r.findings).toEqual([]);
  });
});
