/**
 * The matchers: `toBeClean()` and `toReport(rule)`, for a run or an
 * exploration. Their failure messages print each splat as the kernel would
 * and the command that replays it, so a failing test can be reproduced
 * outside the test runner.
 */
import { findingsOf, findingText } from './findings.ts';
import type { Findings } from './findings.ts';

/** What vitest hands a matcher as `this` (the part used here). */
interface MatcherState {
  readonly isNot: boolean;
}

/** What a matcher returns to vitest. */
export interface MatcherResult {
  pass: boolean;
  message: () => string;
}

const NOT_A_RESULT =
  'expected a run or an exploration (from runInTest, exploreInTest, runScenario or an explorer), got';

function describeValue(x: unknown): string {
  if (x === null || x === undefined) return String(x);
  if (typeof x === 'object') return `an object with keys ${Object.keys(x).join(', ') || '(none)'}`;
  return typeof x;
}

function listFindings(f: Findings, only?: (rule: string) => boolean): string {
  const shown = f.findings.filter((x) => (only ? only(x.splat.rule) : true));
  return shown.map(findingText).join('\n\n');
}

/**
 * `expect(result).toBeClean()`: no splat above severity `info`, no failed
 * run, no limit reached. The message lists every splat with its replay command.
 */
export function toBeClean(this: MatcherState, received: unknown): MatcherResult {
  const f = findingsOf(received);
  if (!f) return { pass: false, message: () => `${NOT_A_RESULT} ${describeValue(received)}` };
  const serious = f.findings.filter((x) => x.splat.severity !== 'info');
  const pass = serious.length === 0 && f.problems.length === 0;
  return {
    pass,
    message: () => {
      if (pass) return `expected ${f.subject} not to be clean, but it reported nothing`;
      const parts = [
        `expected ${f.subject} to be clean, but it reported ${serious.length} splat${serious.length === 1 ? '' : 's'}` +
          (f.problems.length
            ? ` and ${f.problems.length} problem${f.problems.length === 1 ? '' : 's'}`
            : '') +
          ':',
      ];
      if (serious.length) parts.push(listFindings({ ...f, findings: serious }));
      if (f.problems.length) parts.push(f.problems.map((p) => `problem: ${p}`).join('\n'));
      return parts.join('\n\n');
    },
  };
}

/**
 * `expect(result).toReport('lockdep.circular')`: some splat has this rule id.
 * Negated (`.not.toReport`), the message prints the splat that should not be
 * there and its replay command.
 */
export function toReport(this: MatcherState, received: unknown, rule: string): MatcherResult {
  if (typeof rule !== 'string' || rule === '')
    throw new TypeError(
      'toReport needs a rule id, e.g. toReport("lockdep.circular"); `dmabuf-lab explain` lists them.',
    );
  const f = findingsOf(received);
  if (!f) return { pass: false, message: () => `${NOT_A_RESULT} ${describeValue(received)}` };
  const pass = f.findings.some((x) => x.splat.rule === rule);
  return {
    pass,
    message: () => {
      if (pass)
        return `expected ${f.subject} not to report ${rule}, but it did:\n\n${listFindings(f, (r) => r === rule)}`;
      const rules = [...new Set(f.findings.map((x) => x.splat.rule))];
      const got = rules.length ? `it reported ${rules.join(', ')}:` : 'it reported nothing';
      const problems = f.problems.length
        ? `\n\n${f.problems.map((p) => `problem: ${p}`).join('\n')}`
        : '';
      return `expected ${f.subject} to report ${rule}, but ${got}${rules.length ? `\n\n${listFindings(f)}` : ''}${problems}`;
    },
  };
}

/** Both matchers, for `expect.extend`. */
export const dmabufLabMatchers = { toBeClean, toReport };
