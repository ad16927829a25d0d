/**
 * The seed scenario catalogue: each scenario reports what it is about (or
 * nothing), checked with the `dmabuf-lab/vitest` helpers and matchers, so a
 * failure prints the splats and the command that replays the run.
 */
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/explore/index.ts';
import type { Scenario } from '../../src/explore/index.ts';
import { runInTest } from '../../src/vitest/index.ts';

const CATALOGUE: Record<string, { verdict: 'clean' } | { verdict: 'splat'; rule: string }> = {
  'npu-submit': { verdict: 'clean' },
  'npu-alloc-in-run-job': { verdict: 'splat', rule: 'lockdep.circular' },
  'npu-pm-in-run-job': { verdict: 'splat', rule: 'lockdep.circular' },
  'gpu-seqno-wrap': { verdict: 'clean' },
  'gpu-hang-recovery': { verdict: 'clean' },
  'xe-evict-restore': { verdict: 'clean' },
  'vfio-flr-revoke': { verdict: 'clean' },
  'vfio-importer-ignores-invalidate': { verdict: 'splat', rule: 'dma_buf.use_after_revoke' },
  'vfio-type1-uaf': { verdict: 'splat', rule: 'vfio.mmio_use_after_free' },
  'heap-camera-display': { verdict: 'clean' },
  'rwlock-recursive-read-inversion': { verdict: 'splat', rule: 'lockdep.circular' },
  'rwlock-recursive-read-inversion-fixed': { verdict: 'clean' },
  'syncobj-wait-before-submit': { verdict: 'splat', rule: 'lockdep.assert_none_held' },
  'syncobj-wait-before-submit-fixed': { verdict: 'clean' },
};

async function load(name: string): Promise<Scenario> {
  return ((await import(`../../scenarios/${name}.ts`)) as { default: Scenario }).default;
}

describe('the seed scenario catalogue', () => {
  for (const [name, want] of Object.entries(CATALOGUE)) {
    it(`${name}: ${want.verdict === 'clean' ? 'clean' : want.rule}`, async () => {
      const s = await load(name);
      expect(s.name).toBe(name);
      expect(s.description.length).toBeGreaterThan(20);
      expect(s.expect.verdict).toBe(want.verdict);
      for (const seed of [1, 2]) {
        const run = await runInTest(name, { seed });
        if (want.verdict === 'clean') expect(run).toBeClean();
        else expect(run).toReport(want.rule);
        expect(run.result.failure).toBeNull();
        expect(run.verdict.matches, `${name} seed ${seed}: ${run.verdict.reason}`).toBe(true);
      }
    });
  }

  it('npu-alloc-in-run-job: the cycle runs through fs_reclaim and dma_fence_map', async () => {
    const run = await runScenario(await load('npu-alloc-in-run-job'));
    const s = run.result.splats.find((x) => x.rule === 'lockdep.circular')!;
    expect(s.body).toContain('fs_reclaim');
    expect(s.body).toContain('dma_fence_map');
    expect(s.body).toContain('drm_sched_run_job_work');
  });

  it('npu-pm-in-run-job: the cycle runs through fs_reclaim and the resume callback\'s lock', async () => {
    const run = await runScenario(await load('npu-pm-in-run-job'));
    const s = run.result.splats.find((x) => x.rule === 'lockdep.circular')!;
    expect(s.body).toContain('fs_reclaim');
    expect(s.body).toContain('hw_lock');
  });

  it('xe-evict-restore shows the slot and dependency counts', async () => {
    const run = await runScenario(await load('xe-evict-restore'));
    expect(run.notes.join('\n')).toMatch(/evict: 1 resv locked, 1 slot reserved, 1 fence added \(KERNEL\), 1 dependencies/);
    expect(run.notes.join('\n')).toMatch(/restore: 1 resv locked, 1 slot reserved, 1 fence added \(KERNEL\), 2 dependencies/);
  });

  it('rwlock-recursive-read-inversion: the cycle pairs the IRQ\'s recursive reader with the process reader', async () => {
    const run = await runScenario(await load('rwlock-recursive-read-inversion'));
    const s = run.result.splats.find((x) => x.rule === 'lockdep.circular')!;
    expect(s.body).toContain('&dpu->state_lock');
    expect(s.body).toContain('&dpu->fifo_lock');
    // With the selftest switch (non-queued rwlock semantics) both readers are recursive: no cycle.
    const { setForceReadLockRecursive } = await import('../../src/kernel/index.ts');
    const base = await load('rwlock-recursive-read-inversion');
    const forced = { ...base, setup: (k: Parameters<Scenario['setup']>[0], ctx: Parameters<Scenario['setup']>[1]) => { setForceReadLockRecursive(k, true); base.setup(k, ctx); } };
    const run2 = await runScenario(forced);
    expect(run2.verdict.actual).toBe('clean');
  });

  it('syncobj-wait-before-submit: the unlucky order stalls 5 s and fails the submission with -ETIME', async () => {
    const s = await load('syncobj-wait-before-submit');
    const notes: string[] = [];
    for (const seed of [1, 2, 3, 4]) notes.push(...(await runScenario(s, { seed })).notes);
    expect(notes.some((n) => n.includes('queue 1: ETIME at 5000 ms'))).toBe(true);
    expect(notes.some((n) => n.includes('queue 1: submitted'))).toBe(true);
  });

  for (const name of ['rwlock-recursive-read-inversion', 'rwlock-recursive-read-inversion-fixed', 'syncobj-wait-before-submit', 'syncobj-wait-before-submit-fixed']) {
    it(`${name} replays identically from its recorded schedule`, async () => {
      const { ReplayChooser } = await import('../../src/kernel/index.ts');
      const s = await load(name);
      const a = await runScenario(s, { seed: 3, trace: true });
      const b = await runScenario(s, { chooser: new ReplayChooser(a.result.schedule), seed: 3, trace: true });
      expect(b.events!.length).toBe(a.events!.length);
      expect(JSON.stringify(b.events)).toBe(JSON.stringify(a.events));
    });
  }

  it('a scenario run replays identically from its recorded schedule', async () => {
    const { ReplayChooser } = await import('../../src/kernel/index.ts');
    const s = await load('gpu-hang-recovery');
    const a = await runScenario(s, { seed: 7, trace: true });
    const b = await runScenario(s, { chooser: new ReplayChooser(a.result.schedule), seed: 7, trace: true });
    expect(b.events!.length).toBe(a.events!.length);
    expect(JSON.stringify(b.events)).toBe(JSON.stringify(a.events));
  });
});
