/**
 * drm_sched throughput: jobs per second through the scheduler (mock GPU,
 * 1 µs jobs, push → select → pop → run_job → hardware fence → job_done →
 * free) with 1, 100 and 10,000 entities, next to the bare scheduling-point
 * rate of the kernel measured in the same run. Selection must not scan every
 * entity: the per-job cost should not depend on the entity count (target
 * within 1.5x). Plus the KUnit overhead test shape: 1,000 jobs of 1 ms at
 * credit limit 1 must take 1 s of virtual time; the per-job scheduling
 * overhead is reported in virtual time and in wall time.
 */
import { Kernel, msleep } from '../src/kernel/index.ts';
import type { Blocker, Thread } from '../src/kernel/index.ts';
import { DrmMockScheduler } from '../src/sched/index.ts';
import type { DrmMockSchedJob, DrmSchedEntity } from '../src/sched/index.ts';
import type { BenchResult } from './result.ts';
import { median } from './result.ts';

const JOBS = 20_000;
const BATCH = 500;
const REPEATS = 3;

/** Kernel scheduling points per second: two threads handing a token back and forth. */
async function schedulingPointRate(handoffs: number): Promise<number> {
  const k = new Kernel({ seed: 1, limits: { maxSteps: handoffs * 2 + 1000 } });
  const idle: Blocker = { describe: () => 'turn', owners: () => [] };
  const turn = [true, false];
  const threads: Thread[] = [];
  for (let i = 0; i < 2; i++) {
    threads.push(
      k.kthreadRun(`p${i}`, async (self) => {
        for (let r = 0; r < handoffs / 2; r++) {
          while (!turn[i]) await k.block(self, idle, 'pingpong');
          turn[i] = false;
          turn[1 - i] = true;
          k.wake(threads[1 - i]!);
        }
      }),
    );
  }
  const t0 = performance.now();
  const r = await k.run();
  const ms = performance.now() - t0;
  return (r.steps / ms) * 1000;
}

/** Jobs per second with `n` entities; also scheduling steps per job. */
async function schedThroughput(n: number): Promise<{ jobsPerSec: number; stepsPerJob: number }> {
  const k = new Kernel({ seed: 1, limits: { maxSteps: 50_000_000 } });
  const sched = new DrmMockScheduler(k, { name: 'bench' });
  let ms = 0;
  let steps = 0;
  k.kthreadRun('submitter', async () => {
    const entities: DrmSchedEntity[] = [];
    for (let i = 0; i < n; i++) entities.push(sched.entityNew());
    const t0 = performance.now();
    const s0 = k.steps;
    for (let done = 0; done < JOBS; done += BATCH) {
      const batch: DrmMockSchedJob[] = [];
      for (let i = 0; i < BATCH; i++) {
        const job = sched.jobNew(entities[(done + i) % n]!, 1);
        DrmMockScheduler.submit(job);
        batch.push(job);
      }
      // Poll once per millisecond of virtual time (a batch takes 0.5 ms on the mock GPU), so the
      // harness costs the same whatever order the policy completes the jobs in.
      while (!batch.every((j) => DrmMockScheduler.isFinished(j))) await msleep(k, 1);
    }
    ms = performance.now() - t0;
    steps = k.steps - s0;
  });
  const r = await k.run();
  if (r.failure) throw new Error(r.failure.message);
  return { jobsPerSec: (JOBS / ms) * 1000, stepsPerJob: steps / JOBS };
}

/** The KUnit overhead shape: 1,000 jobs of 1 ms on one entity at credit limit 1. */
async function overheadShape(): Promise<{ virtualNs: number; wallMs: number }> {
  const k = new Kernel({ seed: 1 });
  const sched = new DrmMockScheduler(k, { name: 'overhead', creditLimit: 1 });
  let virtualNs = 0;
  const t0 = performance.now();
  k.kthreadRun('test', async () => {
    const e = sched.entityNew();
    const jobs: DrmMockSchedJob[] = [];
    const start = k.nowNs;
    for (let i = 0; i < 1000; i++) {
      const j = sched.jobNew(e, 1000);
      DrmMockScheduler.submit(j);
      jobs.push(j);
    }
    for (const j of jobs) await DrmMockScheduler.waitFinished(j, 1e9);
    virtualNs = k.nowNs - start;
  });
  const r = await k.run();
  if (r.failure) throw new Error(r.failure.message);
  return { virtualNs, wallMs: performance.now() - t0 };
}

export async function benchSched(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  const pointRate = median(await Promise.all([0, 1, 2].map(() => schedulingPointRate(200_000))));
  out.push({ name: 'kernel scheduling points (2-thread ping-pong)', value: pointRate, unit: 'steps/s' });
  const per: number[] = [];
  for (const n of [1, 100, 10_000]) {
    const samples: { jobsPerSec: number; stepsPerJob: number }[] = [];
    for (let i = 0; i < REPEATS; i++) samples.push(await schedThroughput(n));
    const jps = median(samples.map((s) => s.jobsPerSec));
    const spj = median(samples.map((s) => s.stepsPerJob));
    per.push(jps);
    out.push({
      name: `drm_sched jobs through the scheduler, ${n} entit${n === 1 ? 'y' : 'ies'}`,
      value: jps,
      unit: 'jobs/s',
      baseline: pointRate,
      ratio: jps / pointRate,
      note: `${spj.toFixed(2)} scheduling points per job; ${((1e6 / jps) * (pointRate / 1e6)).toFixed(1)} scheduling-point costs per job`,
    });
  }
  const spread = Math.max(...per) / Math.min(...per);
  out.push({
    name: 'per-job cost spread across 1 / 100 / 10,000 entities (max/min)',
    value: spread,
    unit: 'x',
    note: spread <= 1.5 ? 'within the 1.5x target' : 'ABOVE the 1.5x target',
  });
  const o = await overheadShape();
  out.push({
    name: 'KUnit overhead shape: 1,000 jobs x 1 ms at credit 1, virtual time',
    value: o.virtualNs / 1e9,
    unit: 's',
    baseline: 1,
    ratio: o.virtualNs / 1e9,
    note: `per-job scheduling overhead ${((o.virtualNs - 1e9) / 1000).toFixed(0)} ns virtual (run, free and re-queue take no virtual time), ${((o.wallMs * 1000) / 1000).toFixed(1)} µs wall`,
  });
  return out;
}
