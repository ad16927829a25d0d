/**
 * The parser never throws, whatever it is given: random lines, real lines
 * cut anywhere, random bytes, text protos with random braces. Every input
 * gets a verdict, and every non-blank line is accounted for.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkTraceText, TraceChecker } from '../../src/trace/index.ts';

const fixtures = [
  'synthetic-trace-cmd-report.txt',
  'synthetic-sched-legacy.txt',
  'synthetic-systrace-export.txt',
  'synthetic-perf-script.txt',
  'synthetic-perfetto-sched.textproto',
].map((f) => readFileSync(new URL(`./fixtures/${f}`, import.meta.url), 'utf8'));
const realLines = fixtures.flatMap((t) => t.split('\n'));

function verdict(text: string): void {
  const r = checkTraceText(text, { slowWaitNs: 1000, collectEvents: true });
  expect(r.lines).toBeGreaterThanOrEqual(0);
  expect(Array.isArray(r.findings)).toBe(true);
  expect(r.records + r.malformedCount).toBeLessThanOrEqual(r.lines);
}

describe('fuzzing the parser (fast-check)', () => {
  it('random lines of trace-like tokens', () => {
    const token = fc.constantFrom(
      'dma_fence_init:',
      'dma_fence_signaled:',
      'drm_sched_job_run:',
      'drm_run_job:',
      'drm_sched_job_done:',
      'driver=',
      'timeline=',
      'context=',
      'seqno=',
      'fence=',
      '1:2',
      '(context:1, seqno:2)',
      'ring=',
      'job count:',
      '[000]',
      '.....',
      'd.h1.',
      '12.345678:',
      'a-1',
      '<idle>-0',
      '(-----)',
      ':',
      ',',
      ' ',
      '-',
      '[LOST',
      'EVENTS]',
      'CPU:0',
      '{',
      '}',
      'packet {',
      '"',
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.array(token, { maxLength: 14 }).map((t) => t.join(' ')),
          { maxLength: 40 },
        ),
        (lines) => {
          verdict(lines.join('\n'));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('real lines cut at random places and shuffled', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(realLines.length - 1), fc.nat(200)), { maxLength: 60 }),
        (picks) => {
          verdict(picks.map(([i, cut]) => realLines[i]!.slice(0, cut)).join('\n'));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('random bytes (invalid UTF-8 included), fed in random chunks', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }),
        fc.array(fc.nat(300), { maxLength: 10 }),
        (bytes, cuts) => {
          const text = new TextDecoder().decode(bytes);
          const c = new TraceChecker({ slowWaitNs: 0 });
          let n = 0;
          let rest = text;
          for (const cut of cuts) {
            const piece = rest.slice(0, cut);
            rest = rest.slice(cut);
            for (const l of piece.split('\n')) c.line(l, ++n);
          }
          for (const l of rest.split('\n')) c.line(l, ++n);
          const r = c.finish();
          expect(r.lines).toBe(n);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('every real fixture, cut at every point, still gets a verdict', () => {
    for (const t of fixtures) for (let i = 0; i < t.length; i += 37) verdict(t.slice(0, i));
  });
});
