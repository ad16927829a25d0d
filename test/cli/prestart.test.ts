/**
 * Which command lines start the run worker before main parses them: those
 * that run a scenario in it (`run`, `replay`), not `run --seeds` (which runs
 * in the main thread), help, or any other command.
 */
import { describe, expect, test } from 'vitest';
import { runsInWorker } from '../../src/cli/prestart.ts';

describe('runsInWorker', () => {
  test('run and replay of a scenario: yes', () => {
    expect(runsInWorker(['run', 'mutex-abba'])).toBe(true);
    expect(runsInWorker(['run', './x.ts', '--seed', '3', '--json'])).toBe(true);
    expect(runsInWorker(['replay', 'out/s.schedule.json'])).toBe(true);
  });

  test('run --seeds, help, other commands, nothing: no', () => {
    expect(runsInWorker(['run', 'mutex-abba', '--seeds', '1..20'])).toBe(false);
    expect(runsInWorker(['run', 'mutex-abba', '--seeds=20'])).toBe(false);
    expect(runsInWorker(['run', '--help'])).toBe(false);
    expect(runsInWorker(['replay', '-h'])).toBe(false);
    expect(runsInWorker(['explore', 'mutex-abba'])).toBe(false);
    expect(runsInWorker(['check'])).toBe(false);
    expect(runsInWorker(['--help'])).toBe(false);
    expect(runsInWorker([])).toBe(false);
  });
});
