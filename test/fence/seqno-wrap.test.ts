import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/explore/index.ts';
import { ReplayChooser } from '../../src/kernel/index.ts';
import seqnoWrap from '../../scenarios/seqno-wrap.ts';
import seqnoWrap64 from '../../scenarios/seqno-wrap-64bit-compare.ts';

describe('seqno wrap scenarios', () => {
  it('seqno-wrap: a 32-bit ring started at -127 runs 200 jobs past the wrap: clean on several seeds', async () => {
    for (const seed of [1, 2, 3]) {
      const run = await runScenario(seqnoWrap, { seed });
      expect(run.verdict.matches, run.verdict.reason).toBe(true);
      expect(run.verdict.actual).toBe('clean');
      expect(run.notes.join('\n')).toMatch(
        /hardware wrapped: true; fences seen signalled before their job ran: 0; the waiter for the last job woke after 200 of 200/,
      );
    }
  });

  it('seqno-wrap-64bit-compare: the plain 64-bit rule signals post-wrap fences early', async () => {
    const run = await runScenario(seqnoWrap64, { seed: 1 });
    expect(run.verdict.matches, run.verdict.reason).toBe(true);
    expect(run.verdict.rules).toEqual(['fence.signalled_early']);
    // Exactly the post-wrap fences: seqnos 0..72 (200 - 127 of them).
    const early = run.result.splats.map((s) => s.data?.seqno);
    expect(early).toEqual(Array.from({ length: 73 }, (_, i) => i));
  });

  it('replays event for event from the recorded schedule', async () => {
    const a = await runScenario(seqnoWrap64, { seed: 5, trace: true });
    const b = await runScenario(seqnoWrap64, { seed: 5, trace: true });
    const r = await runScenario(seqnoWrap64, {
      seed: 5,
      trace: true,
      chooser: new ReplayChooser(a.result.schedule),
    });
    const s = (x: typeof a) => JSON.stringify(x.events);
    expect(a.events!.length).toBeGreaterThan(1000);
    expect(s(b)).toBe(s(a));
    expect(s(r)).toBe(s(a));
    expect(a.events!.filter((e) => e.type === 'fence-signal').length).toBe(200);
  });
});
