/**
 * The schedule file (`run --save-schedule`, `explore --trace-dir`, read by
 * `replay`): a run's decisions by name, with what it takes to run them
 * again. Version 2 names the scenario without making the file able to run
 * code: a built-in by name, or a scenario file by its path relative to the
 * schedule file plus the SHA-256 of its content (`replay` loads that file
 * only when it lies under the working directory or the schedule's
 * directory and the hash matches; see schedule-load.ts). The relative path
 * also makes a schedule portable: a checkout moved elsewhere, or a bug
 * report's attachment saved beside the scenario, replays as it is.
 *
 * This module only writes (no validation library on this path); reading is
 * in schedule-load.ts.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, extname, relative, resolve, sep } from 'node:path';
import type { Decision, KernelLimits } from '../kernel/index.ts';

/** The `format` field of a schedule file. */
export const SCHEDULE_FORMAT = 'dmabuf-lab-schedule';
/** The version `saveSchedule` writes (`replay` reads 1 and 2). */
export const SCHEDULE_VERSION = 2;

/** How a schedule names its scenario. */
export type ScheduleScenario =
  | { readonly builtin: string }
  | {
      /** Path of the scenario file relative to the schedule file's directory, with `/` separators. */
      readonly file: string;
      /** SHA-256 (hex) of the file's content when the schedule was written. */
      readonly sha256: string;
      /** The scenario's name, for messages. */
      readonly name?: string;
    };

/** Checkers switched off for the run (replayed the same way unless the command line says otherwise). */
export interface ScheduleCheckers {
  readonly lockdep?: false;
  readonly races?: false;
}

/** What version 2 of the schedule file holds. */
export interface ScheduleFile {
  readonly format: typeof SCHEDULE_FORMAT;
  readonly version: typeof SCHEDULE_VERSION;
  readonly scenario: ScheduleScenario;
  readonly seed: number;
  readonly limits?: Partial<KernelLimits>;
  readonly checkers?: ScheduleCheckers;
  /**
   * false: saved from a run that was interrupted (Ctrl-C, the wall-clock
   * limit): its replay stops where the decisions end.
   */
  readonly complete?: false;
  /** With `complete: false`: the scheduling step the run was stopped at (its replay stops there too). */
  readonly steps?: number;
  readonly decisions: readonly Decision[];
}

/** Extensions a scenario file may have (as load.ts; kept here so writing a schedule loads no model). */
const SCENARIO_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];

/** True when `ref` names a scenario file rather than a built-in scenario (the rule of `loadScenario`). */
export function isScenarioFileRef(ref: string): boolean {
  return ref.includes('/') || ref.includes('\\') || SCENARIO_EXTENSIONS.includes(extname(ref));
}

/** SHA-256 (hex) of a file's content. */
export function fileSha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * The `scenario` field for a schedule written to `schedulePath` about the
 * scenario `ref` (a built-in name, or a file path relative to the working
 * directory or absolute). Reads the scenario file to hash it.
 */
export function scheduleScenario(schedulePath: string, ref: string, name?: string): ScheduleScenario {
  if (!isScenarioFileRef(ref)) return { builtin: ref };
  const abs = resolve(ref);
  const rel = relative(dirname(resolve(schedulePath)), abs).split(sep).join('/');
  return { file: rel, sha256: fileSha256(abs), ...(name !== undefined ? { name } : {}) };
}

/** Write a schedule file (one decision per line); throws the file system's error when it cannot. */
export function saveSchedule(file: string, s: Omit<ScheduleFile, 'format' | 'version'>): void {
  const { decisions, ...head } = {
    format: SCHEDULE_FORMAT,
    version: SCHEDULE_VERSION,
    ...s,
  } satisfies ScheduleFile;
  // One decision per line: readable, and diffs of two schedules line up.
  const lines = decisions.map((d) => `  ${JSON.stringify({ kind: d.kind, label: d.label })}`);
  const top = JSON.stringify(head, null, 1).slice(0, -2);
  mkdirSync(dirname(resolve(file)), { recursive: true });
  const body = lines.length ? `[\n${lines.join(',\n')}\n ]` : '[]';
  writeFileSync(file, `${top},\n "decisions": ${body}\n}\n`);
}
