/**
 * The built-in lockdep scenarios report their rules on every seed, and
 * their -fixed twins report nothing.
 */
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/explore/index.ts';
import { runInTest } from '../../src/vitest/index.ts';

const NAMES = ['lockdep-abba', 'alloc-in-signalling', 'wait-under-signalling-lock', 'irq-unsafe-lock'];

describe('lockdep scenarios', () => {
  for (const name of NAMES) {
    for (const variant of [name, `${name}-fixed`]) {
      it(`${variant} matches its expectation on seeds 1-5`, async () => {
        const { scenario } = await loadScenario(variant);
        expect(scenario.expect.verdict).toBe(variant.endsWith('-fixed') ? 'clean' : 'splat');
        for (let seed = 1; seed <= 5; seed++) {
          const run = await runInTest(variant, { seed });
          const e = scenario.expect;
          if (e.verdict === 'clean') expect(run).toBeClean();
          else for (const rule of e.rules) expect(run).toReport(rule);
          expect(run.verdict.reason).toBe(e.verdict === 'clean' ? 'clean as expected' : `reported ${e.rules.join(', ')} as expected`);
          expect(run.verdict.matches).toBe(true);
        }
      });
    }
  }
});
