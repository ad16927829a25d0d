/**
 * The CLI's text safety helpers: control characters from scenarios and
 * schedules are shown as escapes, file-system errors read as words, and
 * `explain` suggests the closest rule ids.
 */
import { describe, expect, test } from 'vitest';
import { fsReason } from '../../src/cli/artefacts.ts';
import { safe, safeLine } from '../../src/cli/format.ts';
import { closestRules } from '../../src/cli/info-commands.ts';
import { allRules } from '../../src/cli/rules.ts';

describe('control characters never reach the terminal raw', () => {
  test('safe escapes ESC, BEL, CR, DEL, C1 and bidi overrides and keeps newlines and tabs', () => {
    expect(safe('a\u001b]0;title\u0007b\rc\u007fd\u009be\u202ef\n\tg')).toBe('a\\x1b]0;title\\x07b\\rc\\x7fd\\x9be\\u202ef\n\tg');
  });
  test('safeLine also escapes newlines and tabs', () => {
    expect(safeLine('one\ntwo\tthree')).toBe('one\\ntwo\\tthree');
  });
  test('ordinary text, including non-ASCII, is unchanged', () => {
    expect(safe('virtual time 1.5 µs — ok')).toBe('virtual time 1.5 µs — ok');
  });
});

test('file-system errors read as words with their code', () => {
  expect(fsReason(Object.assign(new Error('x'), { code: 'ENOTDIR' }))).toBe('a part of the path is a file, not a directory (ENOTDIR)');
  expect(fsReason(Object.assign(new Error('x'), { code: 'EISDIR' }))).toBe('it is a directory (EISDIR)');
  expect(fsReason(new Error('something else'))).toBe('something else');
});

describe('explain suggests the closest rule ids', () => {
  const ids = allRules().map((r) => r.id);
  test('a typo', () => {
    expect(closestRules('sched.deadlok', ids)[0]).toBe('sched.deadlock');
  });
  test('the part after the dot alone', () => {
    expect(closestRules('circular', ids)).toContain('lockdep.circular');
  });
  test('nothing close: no suggestion rather than a wall of ids', () => {
    expect(closestRules('zzzzzzzzzzzzzzzz', ids)).toEqual([]);
  });
});
