/**
 * Finding and loading scenarios: built-in ones by name (the `scenarios/`
 * registry) and users' files by path (TypeScript or JavaScript). A
 * TypeScript loader is registered only when a user's `.ts` file is about to
 * load and this copy runs compiled (`ensureTypeScriptLoader`); from sources,
 * tsx or vitest already load TypeScript. Every failure is a `ScenarioError`
 * whose message says what to fix.
 */
import { existsSync, statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeValue, limitProblems, userThrowSite } from '../kernel/index.ts';
import { builtinScenarioFiles } from '../../scenarios/index.ts';
import { isTypeScriptFile, prepareTypeScriptImport } from './module-loading.ts';
import type { Expectation, Scenario } from './scenario.ts';

/** Why a scenario could not be used. */
export type ScenarioErrorKind = 'not-found' | 'load' | 'no-export' | 'invalid' | 'setup';

/**
 * A scenario that cannot be run: unknown name, missing file, a file that does
 * not load or exports no scenario, or a `setup` that throws. The message is a
 * paragraph saying what happened and what to do.
 */
export class ScenarioError extends Error {
  constructor(
    readonly kind: ScenarioErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'ScenarioError';
  }

  /** `setup` of `name` threw `e`. */
  static fromSetup(name: string, e: unknown): ScenarioError {
    if (e instanceof ScenarioError) return e;
    return new ScenarioError(
      'setup',
      `The setup of scenario "${name}" threw: ${firstLines(errorText(e), 6)}${whereThrown(e)}\n` +
        'setup runs before the simulation starts: it creates objects and spawns threads with ' +
        '`k.kthreadRun(name, async () => { ... })`. Kernel operations (locks, waits, sleeps) belong inside those threads.',
    );
  }
}

/** Extensions a scenario file may have. */
export const SCENARIO_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'] as const;

/** True when `ref` names a file rather than a built-in scenario. */
export function isScenarioPath(ref: string): boolean {
  return (
    ref.includes('/') || ref.includes('\\') || SCENARIO_EXTENSIONS.includes(extname(ref) as '.ts')
  );
}

/** A loaded scenario and where it came from (a built-in name or an absolute file path). */
export interface LoadedScenario {
  readonly scenario: Scenario;
  /** What to pass to `loadScenario` (and `dmabuf-lab run`) to get it again. */
  readonly ref: string;
  readonly builtin: boolean;
}

/**
 * Load a scenario by built-in name (`mutex-abba`) or file path
 * (`./my-scenario.ts`, relative to the working directory).
 */
export async function loadScenario(nameOrPath: string): Promise<LoadedScenario> {
  if (isScenarioPath(nameOrPath)) {
    const file = resolve(nameOrPath);
    return { scenario: await loadScenarioFile(file), ref: file, builtin: false };
  }
  const files = builtinScenarioFiles();
  const direct = files.find((f) => f.name === nameOrPath);
  if (direct) {
    const scenario = await importScenario(
      direct.url,
      `built-in scenario file scenarios/${direct.name}`,
    );
    return { scenario, ref: nameOrPath, builtin: true };
  }
  // Not named after its file: look through every built-in scenario.
  for (const b of await listBuiltinScenarios()) {
    if ('scenario' in b && b.scenario.name === nameOrPath)
      return { scenario: b.scenario, ref: nameOrPath, builtin: true };
  }
  const names = files.map((f) => f.name);
  const close = names.filter((n) => n.includes(nameOrPath) || nameOrPath.includes(n));
  throw new ScenarioError(
    'not-found',
    `There is no built-in scenario named "${nameOrPath}".` +
      (close.length ? ` Did you mean ${close.map((n) => `"${n}"`).join(' or ')}?` : '') +
      ' Run `dmabuf-lab list` to see the built-in scenarios, or give the path of a scenario file ' +
      `(ending in ${SCENARIO_EXTENSIONS.join(', ')}; use ./name.ts for a file in the current directory).`,
  );
}

/** Load the scenario exported by the file at `file` (absolute path). */
export async function loadScenarioFile(file: string): Promise<Scenario> {
  if (!existsSync(file)) {
    throw new ScenarioError(
      'not-found',
      `The scenario file ${file} does not exist. Check the path (relative paths are taken from the current directory), ` +
        'or run `dmabuf-lab list` for the built-in scenarios.',
    );
  }
  if (statSync(file).isDirectory()) {
    throw new ScenarioError(
      'not-found',
      `${file} is a directory; give the path of a scenario file inside it.`,
    );
  }
  if (!SCENARIO_EXTENSIONS.includes(extname(file) as '.ts')) {
    throw new ScenarioError(
      'load',
      `${file} is not a scenario file: a scenario is a TypeScript or JavaScript module (${SCENARIO_EXTENSIONS.join(', ')}) ` +
        'with `export default defineScenario({ ... })`.',
    );
  }
  if (isTypeScriptFile(file)) {
    try {
      await prepareTypeScriptImport(file);
    } catch (e) {
      throw new ScenarioError('load', errorText(e));
    }
  }
  return importScenario(pathToFileURL(file).href, `scenario file ${file}`);
}

/** Every built-in scenario, or the error that kept it from loading; sorted by file name. */
export async function listBuiltinScenarios(): Promise<
  ({ file: string; scenario: Scenario } | { file: string; error: ScenarioError })[]
> {
  const out: ({ file: string; scenario: Scenario } | { file: string; error: ScenarioError })[] = [];
  for (const f of builtinScenarioFiles()) {
    try {
      out.push({
        file: f.name,
        scenario: await importScenario(f.url, `built-in scenario file scenarios/${f.name}`),
      });
    } catch (e) {
      out.push({
        file: f.name,
        error: e instanceof ScenarioError ? e : new ScenarioError('load', errorText(e)),
      });
    }
  }
  return out;
}

async function importScenario(url: string, what: string): Promise<Scenario> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (e) {
    throw new ScenarioError(
      'load',
      `The ${what} does not load: ${firstLines(errorText(e), 8)}\n` +
        'Fix the error above (a syntax error, or an import that does not resolve: import the library with a relative path ' +
        'to its src/index.ts or the package name, with the .ts extension for TypeScript files).',
    );
  }
  let candidate = mod.default ?? mod.scenario ?? soleScenarioExport(mod);
  // A CommonJS module's exports arrive as the default export: unwrap `exports.default`.
  if (
    !looksLikeScenario(candidate) &&
    looksLikeScenario((candidate as { default?: unknown } | undefined)?.default)
  ) {
    candidate = (candidate as { default: unknown }).default;
  }
  if (candidate === undefined) {
    const names = Object.keys(mod);
    throw new ScenarioError(
      'no-export',
      `The ${what} exports no scenario${names.length ? ` (it exports ${names.join(', ')})` : ''}. ` +
        'Add `export default defineScenario({ name, description, expect, setup(k, ctx) { ... } })` ' +
        '(defineScenario comes from dmabuf-lab/scenario, or src/scenario/index.ts in a checkout).',
    );
  }
  return validateScenario(candidate, what);
}

function soleScenarioExport(mod: Record<string, unknown>): unknown {
  const found = Object.values(mod).filter(looksLikeScenario);
  return found.length === 1 ? found[0] : undefined;
}

function looksLikeScenario(v: unknown): boolean {
  return (
    typeof v === 'object' && v !== null && typeof (v as { setup?: unknown }).setup === 'function'
  );
}

/** Check the shape at run time (users' JavaScript files have no type checker); fill optional fields. */
function validateScenario(v: unknown, what: string): Scenario {
  const fix =
    'A scenario is `{ name: string, description: string, expect: { verdict: "clean" } | { verdict: "splat", rules: [...] }, setup(k, ctx) }`.';
  if (typeof v !== 'object' || v === null) {
    throw new ScenarioError(
      'invalid',
      `The ${what} exports ${typeof v} as its scenario, not an object. ${fix}`,
    );
  }
  const s = v as Partial<Scenario>;
  if (typeof s.setup !== 'function')
    throw new ScenarioError('invalid', `The scenario in ${what} has no setup function. ${fix}`);
  if (typeof s.name !== 'string' || s.name === '')
    throw new ScenarioError('invalid', `The scenario in ${what} has no name. ${fix}`);
  const expect: Expectation = s.expect ?? { verdict: 'clean' };
  const validExpect =
    expect.verdict === 'clean' ||
    (expect.verdict === 'splat' &&
      Array.isArray(expect.rules) &&
      expect.rules.every((r) => typeof r === 'string'));
  if (!validExpect)
    throw new ScenarioError(
      'invalid',
      `The scenario "${s.name}" in ${what} has an invalid expect field. ${fix}`,
    );
  const settings = scenarioSettingsProblems(s);
  if (settings.length > 0)
    throw new ScenarioError(
      'invalid',
      `The scenario "${s.name}" in ${what} has invalid settings: ${settings.join('; ')}. (Limits from a scenario are checked as --max-steps and --max-time-ms are.)`,
    );
  if (s.description !== undefined && s.expect !== undefined) return s as Scenario;
  return { ...(s as Scenario), description: s.description ?? '', expect };
}

/** What is wrong with a scenario's kernel options and switches (field, expected, got), or nothing. */
function scenarioSettingsProblems(s: Partial<Scenario>): string[] {
  const out: string[] = [];
  for (const flag of ['lockdep', 'races'] as const) {
    if (s[flag] !== undefined && typeof s[flag] !== 'boolean')
      out.push(`${flag} must be true or false, got ${describeValue(s[flag])}`);
  }
  const kernel: unknown = s.kernel;
  if (kernel === undefined) return out;
  if (typeof kernel !== 'object' || kernel === null || Array.isArray(kernel)) {
    out.push(`kernel must be an object such as { limits: { maxSteps: 100000 } }, got ${describeValue(kernel)}`);
    return out;
  }
  const k = kernel as { limits?: unknown; hz?: unknown };
  out.push(...limitProblems(k.limits, 'kernel.limits.'));
  if (k.hz !== undefined && (typeof k.hz !== 'number' || !Number.isInteger(k.hz) || k.hz < 1 || k.hz > 1e9))
    out.push(`kernel.hz must be a whole number of timer ticks per second from 1 to 1000000000 (e.g. 100, 250 or 1000), got ${describeValue(k.hz)}`);
  return out;
}

function errorText(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

/** Where `e` was thrown in the scenario's code as " (at file:line:col)", or nothing. */
function whereThrown(e: unknown): string {
  const site = userThrowSite(e);
  return site ? ` (at ${site})` : '';
}

function firstLines(text: string, n: number): string {
  const lines = text.trim().split('\n');
  return lines.length <= n ? lines.join('\n') : `${lines.slice(0, n).join('\n')}\n...`;
}
