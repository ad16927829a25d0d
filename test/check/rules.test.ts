/** The rule catalogue explains every rule id reported anywhere in src/. */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { explainRule, ruleCatalogue } from '../../src/check/index.ts';
import { assertRuleCatalogueComplete, findRuleIds } from '../../src/check/rule-scan.ts';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

describe('rule catalogue', () => {
  it('has an entry for every rule id used in src/', () => {
    expect(() => {
      assertRuleCatalogueComplete(SRC);
    }).not.toThrow();
  });

  it('finds the ids of every kind of report site', () => {
    const ids = findRuleIds(SRC).map((r) => r.id);
    // rule: '...' fields, both arms of a conditional, report helpers, namespacing helpers
    for (const id of ['lockdep.circular', 'spinlock.recursion', 'spinlock.lockup', 'refcount.underflow', 'ww_mutex.done_twice']) {
      expect(ids).toContain(id);
    }
  });

  it('explains each rule with a title, a text and its kernel source', () => {
    for (const r of ruleCatalogue) {
      expect(r.id).toMatch(/^[a-z_]+\.[a-z0-9_]+$/);
      expect(r.title.length).toBeGreaterThan(5);
      expect(r.explanation.length).toBeGreaterThan(20);
      expect(r.kernel.length).toBeGreaterThan(5);
    }
    expect(new Set(ruleCatalogue.map((r) => r.id)).size).toBe(ruleCatalogue.length);
    expect(explainRule('lockdep.circular')?.kernel).toContain('check_noncircular');
    expect(explainRule('no.such_rule')).toBeNull();
  });
});
