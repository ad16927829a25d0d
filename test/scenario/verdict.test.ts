import { describe, expect, test } from 'vitest';
import { combineVerdicts, describeExpectation, verdictOf } from '../../src/scenario/index.ts';
import type { Expectation } from '../../src/scenario/index.ts';
import type { RunResult, Splat } from '../../src/kernel/index.ts';

function splat(rule: string, severity: Splat['severity'] = 'bug'): Splat {
  return { rule, severity, headline: rule, body: '', thread: null, timeNs: 0, step: 0 };
}
function result(end: RunResult['end'], splats: Splat[], failure: RunResult['failure'] = null) {
  return { end, splats, failure };
}
const clean: Expectation = { verdict: 'clean' };
const deadlock: Expectation = { verdict: 'splat', rules: ['sched.deadlock'], seeds: 'some' };

describe('verdictOf', () => {
  test('a completed run with no splat is clean', () => {
    expect(verdictOf(result('completed', []), clean)).toMatchObject({
      actual: 'clean',
      matches: true,
    });
  });

  test('info-severity splats keep a run clean', () => {
    expect(verdictOf(result('completed', [splat('x.note', 'info')]), clean)).toMatchObject({
      actual: 'clean',
      matches: true,
    });
  });

  test('a run stopped by a limit is never clean, although run.limit is info', () => {
    const v = verdictOf(result('step-limit', [splat('run.limit', 'info')]), clean);
    expect(v).toMatchObject({ actual: 'limit', matches: false });
    expect(v.reason).toMatch(/step-limit/);
  });

  test('a splat expectation needs every listed rule and allows others', () => {
    const both = result('deadlock', [
      splat('lockdep.circular', 'lockdep'),
      splat('sched.deadlock'),
    ]);
    expect(verdictOf(both, deadlock)).toMatchObject({
      actual: 'splat',
      matches: true,
      rules: ['lockdep.circular', 'sched.deadlock'],
    });
    const onlyLockdep = result('completed', [splat('lockdep.circular', 'lockdep')]);
    expect(verdictOf(onlyLockdep, deadlock)).toMatchObject({ matches: false });
  });

  test('a failed run matches nothing', () => {
    const failed = result('failed', [], {
      kind: 'foreign-await',
      message: 'awaited a timer',
      thread: 't',
    });
    expect(verdictOf(failed, clean)).toMatchObject({ actual: 'error', matches: false });
  });
});

describe('combineVerdicts', () => {
  const yes = verdictOf(result('deadlock', [splat('sched.deadlock')]), deadlock);
  const no = verdictOf(result('completed', []), deadlock);
  test('"some seeds" needs one matching seed', () => {
    expect(combineVerdicts([no, yes, no], deadlock)).toBe(true);
    expect(combineVerdicts([no, no], deadlock)).toBe(false);
  });
  test('otherwise every seed must match', () => {
    const every: Expectation = { verdict: 'splat', rules: ['sched.deadlock'] };
    expect(combineVerdicts([yes, no], every)).toBe(false);
    expect(combineVerdicts([yes, yes], every)).toBe(true);
  });
  test('a failed seed fails the scenario', () => {
    const err = verdictOf(
      result('failed', [], { kind: 'misuse', message: 'm', thread: null }),
      deadlock,
    );
    expect(combineVerdicts([yes, err], deadlock)).toBe(false);
  });
});

test('describeExpectation says what is expected', () => {
  expect(describeExpectation(clean)).toBe('clean');
  expect(describeExpectation(deadlock)).toBe('splat sched.deadlock (some seeds)');
});
