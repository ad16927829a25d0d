/**
 * Reading a schedule file for `replay`: validated against a zod schema
 * (versions 1 and 2; every error names the field's path and what is
 * expected), then the trust decision: a schedule never runs code on its
 * own. A built-in scenario is loaded by name. A scenario file is loaded
 * only when it lies under the working directory or the schedule's
 * directory and its content matches the SHA-256 recorded with the schedule;
 * otherwise replay refuses and says how to run it on purpose
 * (`--scenario FILE`, a file the user names). Version 1 files name their
 * scenario file by absolute path without a hash: refused the same way.
 *
 * Imported only by `replay` (zod stays off the other commands' start-up).
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, extname, isAbsolute, relative, resolve } from 'node:path';
import { z } from 'zod';
// The leaf modules, not the indexes: replay's main thread does not load the model.
import { describeValue, LIMIT_BOUNDS } from '../kernel/run-types.ts';
import type { Decision, KernelLimits } from '../kernel/index.ts';
import { DECISION_KINDS } from '../explore/result.ts';
import { displayPath, shellWord } from './format.ts';
import { fileSha256, isScenarioFileRef, SCHEDULE_FORMAT, SCHEDULE_VERSION } from './schedule-file.ts';
import type { ScheduleCheckers } from './schedule-file.ts';

/** A schedule that cannot be replayed; the message says why and what to do. */
export class ScheduleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleError';
  }
}

/** A schedule ready to replay. */
export interface LoadedSchedule {
  /** What the worker loads: a built-in name or an absolute path. */
  readonly scenario: string;
  readonly seed: number;
  readonly limits: Partial<KernelLimits>;
  readonly checkers: ScheduleCheckers;
  /** false: saved from an interrupted run (the replay stops where its decisions end). */
  readonly complete: boolean;
  /** For a partial schedule: the step its run was stopped at. */
  readonly stopAtStep?: number;
  readonly decisions: readonly Decision[];
  /** Things to tell the user (an overridden scenario that differs from the recorded one). */
  readonly notes: readonly string[];
}

/** The largest seed: the scheduler's PRNG takes seeds as unsigned 32-bit numbers. */
export const SEED_MAX = 2 ** 32 - 1;

const whole = (min: number, max: number, what: string): z.ZodType<number> =>
  z
    .number({ error: `expected ${what}` })
    .refine((v) => Number.isInteger(v) && v >= min && v <= max, { error: `expected ${what}` });

const Seed = whole(0, SEED_MAX, `a whole number from 0 to ${SEED_MAX}`);
const Limits = z.strictObject(
  {
    maxSteps: whole(1, LIMIT_BOUNDS.maxSteps, `a whole number of steps from 1 to ${LIMIT_BOUNDS.maxSteps}`).optional(),
    maxVirtualTimeNs: whole(1, LIMIT_BOUNDS.maxVirtualTimeNs, `a whole number of ns from 1 to ${LIMIT_BOUNDS.maxVirtualTimeNs}`).optional(),
  },
  { error: 'expected { maxSteps?, maxVirtualTimeNs? } (no other fields)' },
);
// The result files' decision shape, built with this module's zod (result.ts builds its schemas lazily).
const DecisionSchema = z.object({ kind: z.enum(DECISION_KINDS), label: z.string() });
const Decisions = z.array(DecisionSchema, { error: 'expected an array of { kind, label } decisions' });
const BUILTIN_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const Builtin = z.strictObject({
  builtin: z.string().regex(BUILTIN_NAME, { error: 'expected the name of a built-in scenario (letters, digits, - and _)' }),
});
const File = z.strictObject({
  file: z.string({ error: 'expected a path relative to the schedule file' }).min(1).max(4096),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, { error: 'expected the SHA-256 of the scenario file, 64 hex digits' }),
  name: z.string().max(200).optional(),
});
const Checkers = z.strictObject({ lockdep: z.literal(false).optional(), races: z.literal(false).optional() });

const V2 = z.strictObject({
  format: z.literal(SCHEDULE_FORMAT),
  version: z.literal(2),
  scenario: z.union([Builtin, File], {
    error: 'expected { "builtin": name } or { "file": relative path, "sha256": hash }',
  }),
  seed: Seed,
  limits: Limits.optional(),
  checkers: Checkers.optional(),
  complete: z.literal(false).optional(),
  steps: whole(0, LIMIT_BOUNDS.maxSteps, 'the whole number of steps the interrupted run had made').optional(),
  decisions: Decisions,
});

const V1 = z.object({
  format: z.literal(SCHEDULE_FORMAT).optional(),
  version: z.literal(1).optional(),
  scenario: z.string({ error: 'expected a built-in scenario name or a path' }).min(1).max(4096),
  seed: Seed,
  limits: Limits.optional(),
  decisions: Decisions,
});

/** `decisions[3].kind` from a zod issue path. */
function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out || '(the file)';
}

function valueAt(v: unknown, path: readonly PropertyKey[]): unknown {
  let cur = v;
  for (const p of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

function issuesText(data: unknown, issues: readonly z.core.$ZodIssue[]): string {
  const shown = issues.slice(0, 3).map((i) => {
    const got = valueAt(data, i.path);
    const unknownKey = i.code === 'unrecognized_keys' ? ` (unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.join(', ')})` : '';
    return `${pathText(i.path)}: ${i.message}${unknownKey}${got !== undefined && i.code !== 'unrecognized_keys' ? `, got ${describeValue(got)}` : ''}`;
  });
  return `${shown.join('; ')}${issues.length > 3 ? `; and ${issues.length - 3} more` : ''}`;
}

const FOREIGN: Record<string, string> = {
  'dmabuf-lab-explore-result':
    'it is the result of `dmabuf-lab explore` (--out or merge). The schedules of its bugs are written by `explore --trace-dir DIR`, one schedule file per bug.',
  'dmabuf-lab-explore-shard':
    'it is a shard file of `dmabuf-lab explore --shard i/n`; combine the shards with `dmabuf-lab merge`, and save the bugs\' schedules with `explore --trace-dir DIR`.',
};

/**
 * Read and check the schedule file `file`; `override` is the `--scenario`
 * the user gave (a built-in name or a path), which replaces the recorded
 * scenario without the trust check. Throws a `ScheduleError`.
 */
export function loadSchedule(file: string, override?: string): LoadedSchedule {
  const shown = displayPath(resolve(file));
  const how = 'Write one with `dmabuf-lab run <scenario> --save-schedule FILE`.';
  if (!existsSync(file)) throw new ScheduleError(`The schedule file ${shown} does not exist. ${how}`);
  if (statSync(file).isDirectory()) throw new ScheduleError(`${shown} is a directory, not a schedule file. ${how}`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ScheduleError(`The schedule file ${shown} cannot be read: ${(e as Error).message}.`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ScheduleError(`The schedule file ${shown} is not valid JSON (${(e as Error).message}). ${how}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw new ScheduleError(`The schedule file ${shown} is not a dmabuf-lab schedule: it holds ${describeValue(data)}, not an object. ${how}`);
  const { format, version } = data as { format?: unknown; version?: unknown };
  if (format !== undefined && format !== SCHEDULE_FORMAT) {
    const why = typeof format === 'string' ? FOREIGN[format] : undefined;
    throw new ScheduleError(
      `The file ${shown} is not a dmabuf-lab schedule: its format is ${describeValue(format)}, not "${SCHEDULE_FORMAT}"${why ? `: ${why}` : `. ${how}`}`,
    );
  }
  if (version !== undefined && version !== 1 && version !== SCHEDULE_VERSION) {
    throw new ScheduleError(
      `The schedule file ${shown} has version ${describeValue(version)}; this dmabuf-lab reads versions 1 and ${SCHEDULE_VERSION}. Record the schedule again with this version (\`dmabuf-lab run <scenario> --save-schedule FILE\`).`,
    );
  }
  const v2 = version === SCHEDULE_VERSION;
  const parsed = v2 ? V2.safeParse(data) : V1.safeParse(data);
  if (!parsed.success) {
    throw new ScheduleError(`The schedule file ${shown} is not valid: ${issuesText(data, parsed.error.issues)}. ${how}`);
  }
  const s = parsed.data;
  const notes: string[] = [];
  let scenario: string;
  if (override !== undefined) {
    scenario = isScenarioFileRef(override) ? resolve(override) : override;
    const rec = v2 ? (s as z.infer<typeof V2>).scenario : null;
    if (rec && 'file' in rec && isScenarioFileRef(override) && existsSync(scenario)) {
      if (fileSha256(scenario) !== rec.sha256)
        notes.push(`the scenario file ${displayPath(scenario)} is not the one this schedule was recorded with (its content differs); the replay may stop at a decision that no longer fits`);
    }
  } else if (v2) {
    scenario = trustedScenario(file, shown, (s as z.infer<typeof V2>).scenario);
  } else {
    const ref = (s as z.infer<typeof V1>).scenario;
    if (isScenarioFileRef(ref) || !BUILTIN_NAME.test(ref)) {
      throw new ScheduleError(
        `The schedule ${shown} was written by an older dmabuf-lab (version 1): it names its scenario file by path (${ref}) without a hash of its content, so replay does not load it by itself (a schedule must never run code on its own). ` +
          `If you trust that file, run it on purpose: dmabuf-lab replay ${shellWord(shown)} --scenario ${shellWord(ref)}`,
      );
    }
    scenario = ref;
  }
  const checkers = v2 ? ((s as z.infer<typeof V2>).checkers ?? {}) : {};
  return {
    scenario,
    seed: s.seed,
    limits: s.limits ?? {},
    checkers,
    complete: !(v2 && (s as z.infer<typeof V2>).complete === false),
    ...(v2 && (s as z.infer<typeof V2>).complete === false && (s as z.infer<typeof V2>).steps !== undefined
      ? { stopAtStep: (s as z.infer<typeof V2>).steps! }
      : {}),
    decisions: s.decisions,
    notes,
  };
}

/** The recorded scenario, when replay may load it on its own; otherwise a `ScheduleError` saying how to run it on purpose. */
function trustedScenario(file: string, shown: string, rec: z.infer<typeof V2>['scenario']): string {
  if ('builtin' in rec) return rec.builtin;
  const scheduleDir = dirname(realpathSync(file));
  const target = resolve(scheduleDir, rec.file);
  const refuse = (why: string): never => {
    throw new ScheduleError(
      `The schedule ${shown} names the scenario file ${rec.file} (${displayPath(target)}), which ${why}. ` +
        'A schedule never runs code on its own: replay loads a scenario file only when it lies under the current directory or the schedule\'s directory and its content matches the hash recorded with the schedule. ' +
        `If you trust that file, run it on purpose: dmabuf-lab replay ${shellWord(shown)} --scenario ${shellWord(displayPath(target))}`,
    );
  };
  if (!['.ts', '.mts', '.js', '.mjs'].includes(extname(target))) refuse('is not a scenario file (.ts, .mts, .js, .mjs)');
  if (!existsSync(target)) refuse('does not exist');
  const real = realpathSync(target);
  const under = (root: string): boolean => {
    const r = relative(root, real);
    return r !== '' && !r.startsWith('..') && !isAbsolute(r);
  };
  if (!under(realpathSync(process.cwd())) && !under(scheduleDir)) refuse('lies outside the current directory and the schedule\'s directory');
  if (fileSha256(real) !== rec.sha256) refuse('has changed since the schedule was recorded (its content hash differs)');
  return real;
}
