/**
 * The exploration's result object: what `explore()` returns, what
 * `dmabuf-lab explore --json` prints and `merge` writes, and the shard file
 * `--shard i/n` writes. One versioned zod schema per file kind, so `merge`
 * (and anything else reading these files) validates its inputs.
 *
 * Everything here is a function of the exploration's options: no wall-clock
 * field, no host path beyond the scenario reference. Timings are returned
 * beside the result (`ExploreReport.timing`), never inside it, so the same
 * exploration gives the same file byte for byte.
 *
 * zod costs about as much to load as the whole model a run needs, and only
 * reading files (`merge`, tests) validates: the schemas are built on first
 * use (`resultSchemas()`), with zod loaded then, so importing the explorer
 * (or `dmabuf-lab` as a whole, as scenario files may) does not load it.
 * zod is loaded with `require`, synchronously, so that `mergeShards` stays
 * a plain function; the schemas are self-contained, so its CommonJS copy
 * serves as well as the ES one.
 */
import { createRequire } from 'node:module';
import type { z as zod } from 'zod';

/** Version of both file formats; bumped on any incompatible change. */
export const RESULT_VERSION = 1;

/** Every decision kind a schedule may hold (the kernel's `ChoiceKind`s). */
export const DECISION_KINDS = ['thread', 'timer', 'alloc', 'ww-slowpath', 'device', 'reclaim', 'data', 'signal'] as const;

/** The schemas, built with zod once loaded (see `resultSchemas`). */
function buildSchemas(z: typeof zod) {
  const Int = z.number().int();
  const NonNeg = Int.nonnegative();

  /** One decision of a schedule, by name (its kind and label). */
  const DecisionSchema = z.object({
    kind: z.enum(DECISION_KINDS),
    label: z.string(),
  });

  /** A splat as a result file stores it. */
  const SplatSchema = z.object({
    rule: z.string(),
    severity: z.enum(['bug', 'warn', 'lockdep', 'info']),
    headline: z.string(),
    body: z.string(),
    thread: z.string().nullable(),
    timeNs: z.number(),
    step: NonNeg,
    data: z.record(z.string(), z.unknown()).optional(),
  });

  /** How far a schedule strays from the default order. */
  const SizesSchema = z.object({
    /** Decisions that differ from the default order (forced decisions). */
    deviations: NonNeg,
    /** Of which preemptions and order deviations. */
    preemptions: NonNeg,
    /** Of which injected faults. */
    faults: NonNeg,
    /** Decisions the run recorded (its schedule's length). */
    decisions: NonNeg,
  });

  /** A decision that differs from the default order, with its cost (for shrinking). */
  const DeviationSchema = z.object({
    index: NonNeg,
    name: z.string(),
    kind: DecisionSchema.shape.kind,
    label: z.string(),
    cost: z.union([z.literal(0), z.literal(1), z.literal(2)]),
  });

  /** A schedule as `replay` takes it: the seed and the decisions by name. */
  const ScheduleSchema = z.object({
    seed: NonNeg,
    decisions: z.array(DecisionSchema),
  });

  /** The shrunk form of a failing schedule. */
  const ShrunkSchema = z.object({
    before: SizesSchema,
    after: SizesSchema,
    /** Schedules run while shrinking. */
    runs: NonNeg,
    /** Removing any one remaining deviation makes the bug disappear (checked). */
    oneMinimal: z.boolean(),
    schedule: ScheduleSchema,
    deviations: z.array(DeviationSchema),
    splat: SplatSchema,
  });

  /** A bug's first occurrence in a task: what it takes to report, shrink and replay it. */
  const OccurrenceSchema = z.object({
    /** Index of the schedule within its task. */
    k: NonNeg,
    splat: SplatSchema,
    schedule: ScheduleSchema,
    deviations: z.array(DeviationSchema),
    sizes: SizesSchema,
    shrunk: ShrunkSchema.nullable(),
  });

  const Range = z.tuple([NonNeg, z.number().int().positive()]);

  /** A bug as one task saw it. */
  const TaskBugSchema = z.object({
    key: z.string(),
    rule: z.string(),
    /** Schedules (by index within the task) that showed it, as [start, length] runs. */
    ranges: z.array(Range),
    first: OccurrenceSchema,
  });

  /** A lockdep class named stably across processes (key, subclass, name, wait types). */
  const ClassRefSchema = z.object({
    key: z.string(),
    subclass: NonNeg,
    name: z.string(),
    waitInner: NonNeg,
    waitOuter: NonNeg,
  });

  /** A lockdep dependency between two classes, with its site, as accumulated across schedules. */
  const EdgeRecordSchema = z.object({
    from: ClassRefSchema,
    to: ClassRefSchema,
    dep: NonNeg,
    site: z.string(),
  });

  /** What one task (a chunk of schedule indices, or a subtree of the bounded search) found. */
  const TaskResultSchema = z.object({
    task: NonNeg,
    /** Schedules run and counted (redundant ones excluded). */
    schedules: NonNeg,
    /** Redundant (sleep-set blocked) runs, as [counted schedules before them, how many]. */
    redundant: z.array(z.tuple([NonNeg, z.number().int().positive()])),
    /** Why the task stopped. */
    stoppedBy: z.enum(['done', 'budget', 'bug', 'stopped']),
    bugs: z.array(TaskBugSchema),
    /** Distinct schedule hashes with the first schedule that had each. */
    hashes: z.array(z.tuple([NonNeg, NonNeg])),
    /** Lockdep dependencies first added in this task, with the schedule. */
    edges: z.array(z.tuple([EdgeRecordSchema, NonNeg])),
    /** Running maxima [k, threads, steps]: from schedule k on, at least that many. */
    maxima: z.array(z.tuple([NonNeg, NonNeg, NonNeg])),
  });


  /** The options that determine an exploration's result (and must agree between shards). */
  const ExploreSettingsSchema = z.object({
    strategy: z.enum(['random', 'pct', 'dfs']),
    seed: NonNeg,
    /** Schedule budget. */
    schedules: z.number().int().positive(),
    until: z.enum(['first', 'all']),
    /** PCT depth. */
    depth: z.number().int().positive(),
    /** dfs preemption bound (null: none). */
    preemptions: NonNeg.nullable(),
    /** dfs partial-order reduction. */
    reduction: z.enum(['sleep', 'none']),
    faults: z.array(z.enum(['alloc', 'ww', 'hang', 'timer', 'irq', 'signal'])),
    maxFaults: NonNeg,
    limits: z.object({ maxSteps: z.number().int().positive().optional(), maxVirtualTimeNs: z.number().positive().optional() }),
    /** Present (false) when the race detector and KASAN were off (`--no-races`). */
    races: z.literal(false).optional(),
    /** Present (false) when lockdep was off (`--no-lockdep`). */
    lockdep: z.literal(false).optional(),
  });

  /** Which scenario a result is about. */
  const ScenarioRefSchema = z.object({
    name: z.string(),
    /** Built-in name or the file path given (what `run` and `replay` take). */
    ref: z.string(),
  });

  /** A distinct bug of the exploration. */
  const BugSchema = z.object({
    key: z.string(),
    rule: z.string(),
    headline: z.string(),
    /** Index of the first schedule that showed it (in the exploration's order, from 0). */
    firstSchedule: NonNeg,
    /** Schedules that showed it. */
    schedules: z.number().int().positive(),
    splat: SplatSchema,
    /** The first failing schedule, as run. */
    schedule: ScheduleSchema,
    sizes: SizesSchema,
    /** Its shrunk form (null for a cycle across schedules, which no single schedule shows). */
    shrunk: ShrunkSchema.nullable(),
    /** For a lockdep cycle closed only by dependencies seen on different schedules: those schedules. */
    acrossSchedules: z.array(NonNeg).nullable(),
  });

  /** The result of an exploration (also what `merge` writes). */
  const ExploreResultSchema = z.object({
    format: z.literal('dmabuf-lab-explore-result'),
    version: z.literal(RESULT_VERSION),
    scenario: ScenarioRefSchema,
    settings: ExploreSettingsSchema,
    /** Schedules run and counted. */
    schedules: NonNeg,
    /** Runs cut short because they repeated an explored schedule (dfs sleep sets). */
    redundant: NonNeg,
    /** Why the exploration stopped. */
    stoppedBy: z.enum(['exhausted', 'budget', 'first-bug', 'stopped']),
    /** dfs: every schedule within the bounds was run. */
    exhausted: z.boolean(),
    /** Distinct schedules (hashes of the decisions taken; equal decisions give equal event streams). */
    distinct: NonNeg,
    /** Largest thread count and step count (run-queue decisions) seen. */
    threads: NonNeg,
    steps: NonNeg,
    /** PCT's per-schedule lower bound 1/(n k^(d-1)) for the observed n and k (pct only). */
    pctGuarantee: z.number().nullable(),
    /** Distinct lockdep dependencies accumulated across schedules. */
    dependencies: NonNeg,
    bugs: z.array(BugSchema),
  });

  /** What `--shard i/n` writes: the tasks of one shard, for `merge`. */
  const ShardFileSchema = z.object({
    format: z.literal('dmabuf-lab-explore-shard'),
    version: z.literal(RESULT_VERSION),
    scenario: ScenarioRefSchema,
    settings: ExploreSettingsSchema,
    shard: z.object({ index: NonNeg, count: z.number().int().positive() }),
    /** Tasks in the whole exploration (dfs: subtrees; others: chunks of schedule indices). */
    taskCount: NonNeg,
    tasks: z.array(TaskResultSchema),
  });
  return {
    DecisionSchema,
    SplatSchema,
    SizesSchema,
    DeviationSchema,
    ScheduleSchema,
    ShrunkSchema,
    OccurrenceSchema,
    TaskBugSchema,
    ClassRefSchema,
    EdgeRecordSchema,
    TaskResultSchema,
    ExploreSettingsSchema,
    ScenarioRefSchema,
    BugSchema,
    ExploreResultSchema,
    ShardFileSchema,
  };
}

/** The zod schemas of the result files, by name (`ExploreResultSchema`, `ShardFileSchema`, their parts). */
export type ResultSchemas = ReturnType<typeof buildSchemas>;

let schemas: ResultSchemas | null = null;

/**
 * The zod schemas of the result object and the shard file (and of their
 * parts), built on the first call: `resultSchemas().ExploreResultSchema.parse(json)`
 * validates a file `explore --json`, `--out` or `merge` wrote.
 */
export function resultSchemas(): ResultSchemas {
  schemas ??= buildSchemas((createRequire(import.meta.url)('zod') as { z: typeof zod }).z);
  return schemas;
}

/** What one task (a chunk of schedule indices, or a subtree of the bounded search) found. */
export type TaskResult = zod.infer<ResultSchemas['TaskResultSchema']>;
/** A bug as one task saw it. */
export type TaskBug = zod.infer<ResultSchemas['TaskBugSchema']>;
/** A bug's first occurrence in a task. */
export type Occurrence = zod.infer<ResultSchemas['OccurrenceSchema']>;
/** The shrunk form of a failing schedule. */
export type Shrunk = zod.infer<ResultSchemas['ShrunkSchema']>;
/** How far a schedule strays from the default order. */
export type Sizes = zod.infer<ResultSchemas['SizesSchema']>;
/** The options that determine an exploration's result (and must agree between shards). */
export type ExploreSettings = zod.infer<ResultSchemas['ExploreSettingsSchema']>;
/** A distinct bug of the exploration. */
export type Bug = zod.infer<ResultSchemas['BugSchema']>;
/** The result of an exploration (also what `merge` writes). */
export type ExploreResult = zod.infer<ResultSchemas['ExploreResultSchema']>;
/** What `--shard i/n` writes: the tasks of one shard, for `merge`. */
export type ShardFile = zod.infer<ResultSchemas['ShardFileSchema']>;

/** The result as a file: stable key order, two-space indent, one trailing newline. */
export function resultJson(v: ExploreResult | ShardFile): string {
  return `${JSON.stringify(v, null, 2)}\n`;
}
