import { describe, expect, it } from 'vitest';
import { Kernel } from '../../src/kernel/index.ts';
import scenario from '../../scenarios/ww-backoff.ts';

describe('scenario ww-backoff', () => {
  it('is clean on every seed tried, with real back-offs and injected ones', async () => {
    expect(scenario.name).toBe('ww-backoff');
    expect(scenario.expect).toEqual({ verdict: 'clean' });
    let backoffs = 0;
    let injected = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const k = new Kernel({ seed, ...scenario.kernel });
      const notes: string[] = [];
      scenario.setup(k, { seed, note: (l) => notes.push(l) });
      const r = await k.run();
      expect(r.failure).toBeNull();
      expect(r.splats).toEqual([]);
      expect(r.end).toBe('completed');
      const m = /^(\d+) transactions committed, (\d+) back-offs$/.exec(notes[0] ?? '');
      expect(m?.[1]).toBe('18');
      backoffs += Number(m?.[2]);
      injected += r.schedule.decisions.filter((d) => d.kind === 'ww-slowpath').length;
    }
    expect(backoffs).toBeGreaterThan(injected);
    expect(injected).toBeGreaterThan(0);
  });
});
