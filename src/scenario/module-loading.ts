/**
 * How a thread loads dmabuf-lab's own modules and users' scenario files.
 *
 * This copy of the library runs either as compiled JavaScript (`dist/`, the
 * installed package, or a checkout after `npm run build`) or from its
 * TypeScript sources (a checkout: `bin/dmabuf-lab.js` with tsx, or vitest).
 *
 * - Compiled, nothing registers a TypeScript loader until a user's `.ts`
 *   scenario file is about to be imported (`ensureTypeScriptLoader`, called by
 *   `loadScenarioFile`): the CLI's start-up and built-in scenarios pay nothing.
 * - From sources, the thread that imports this module already loads
 *   TypeScript. A worker thread does not inherit that on Node 20, so
 *   `workerStart` starts it on a small JavaScript bootstrap
 *   (`scripts/source-worker.mjs`) that registers tsx before importing the entry.
 *
 * Every worker thread started on one of our modules goes through
 * `workerStart`: the CLI's run worker (`new Worker`) and the explorer's pool
 * (Piscina) alike.
 */
import { existsSync, readFileSync } from 'node:fs';
import { register } from 'node:module';
import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** True when this copy runs as compiled JavaScript, false when it runs from its TypeScript sources. */
export const runningCompiled: boolean = !import.meta.url.endsWith('.ts');

/**
 * The URL of one of our modules given as its source path (`'./worker.ts'`)
 * relative to `base` (the caller's `import.meta.url`): the `.js` twin when the
 * caller runs compiled. (tsc rewrites import specifiers, not URL strings.)
 */
export function ownModuleUrl(sourcePath: string, base: string): URL {
  const compiledCaller = !base.endsWith('.ts');
  const path = compiledCaller ? sourcePath.replace(/\.(m?)ts$/, '.$1js') : sourcePath;
  return new URL(path, base);
}

/**
 * What to give `new Worker(filename, { workerData, execArgv })` or
 * `new Piscina({ filename, workerData, execArgv })`.
 */
export interface WorkerStart {
  /** Absolute path of the module the worker starts on. */
  readonly filename: string;
  /** The caller's data, plus, from sources, what the bootstrap needs under `dmabufLabBoot`. */
  readonly workerData: Record<string, unknown>;
  /**
   * Node options of the worker: compiled with preload modules, an `--import`
   * of each (and then none of the parent's); otherwise absent, and the worker
   * inherits the parent's.
   */
  readonly execArgv?: string[];
}

/** Options of `workerStart`. */
export interface WorkerStartOptions {
  /** The worker's `workerData`. */
  readonly data?: Record<string, unknown>;
  /**
   * The entry's export that serves as Piscina's handler; from sources the
   * bootstrap re-exports it as its own default. Default: `default`.
   */
  readonly name?: string;
  /**
   * Modules (URLs) the worker imports before the entry, e.g. a module that
   * registers resolve hooks (`scenarioHookPreload`). Compiled, `--import`
   * options; from sources, imported by the bootstrap once tsx is registered
   * (so that hooks registered there run before tsx's, as in the main thread).
   */
  readonly preload?: readonly string[];
}

/** What `scripts/source-worker.mjs` reads from `workerData.dmabufLabBoot`. */
export interface SourceWorkerBoot {
  /** URL of the entry module to import once TypeScript loads. */
  readonly entry: string;
  /** URL of `tsx/esm/api`. */
  readonly tsx: string;
  /** URL of this module (its `registerScenarioHook` runs after tsx). */
  readonly hooks: string;
  /** The entry's export the bootstrap re-exports as its default (Piscina's handler). */
  readonly name: string;
  /** Modules imported after tsx, before the entry. */
  readonly preload: readonly string[];
}

/**
 * How to start a worker thread on our module `entry` (its source path,
 * e.g. `'./pool-task.ts'`, relative to `base`, the caller's
 * `import.meta.url`).
 *
 * Compiled, the worker starts on the entry itself (the `.js` twin); Piscina
 * loads it with `require()`, which on Node >= 20.19 loads an ES module into
 * the same module map as `import()`, so the scenario the worker imports later
 * shares its copy of the library. From sources it starts on
 * `scripts/source-worker.mjs`, which registers tsx, imports the preload
 * modules, registers the scenario hooks, then imports the entry and
 * re-exports its `name` export as its own default. The bootstrap has a
 * top-level await, so Piscina's `require()` of it fails and it falls back to
 * `import()`: the entry is never compiled to CommonJS (which would give the
 * worker a second copy of every module).
 */
export function workerStart(entry: string, base: string, opts: WorkerStartOptions = {}): WorkerStart {
  const url = ownModuleUrl(entry, base);
  const data = opts.data ?? {};
  const preload = opts.preload ?? [];
  if (!isTypeScriptFile(url.pathname)) {
    return {
      filename: fileURLToPath(url),
      workerData: data,
      ...(preload.length > 0 ? { execArgv: preload.flatMap((p) => ['--import', p]) } : {}),
    };
  }
  const boot: SourceWorkerBoot = {
    entry: url.href,
    tsx: import.meta.resolve('tsx/esm/api'),
    hooks: import.meta.url,
    name: opts.name ?? 'default',
    preload,
  };
  return {
    filename: fileURLToPath(new URL('../../scripts/source-worker.mjs', import.meta.url)),
    workerData: { ...data, dmabufLabBoot: boot },
  };
}

/** Extensions that need a TypeScript loader. */
const TYPESCRIPT = /\.(ts|mts|cts)$/;

/** True when importing `file` (a path or URL) needs a TypeScript loader. */
export function isTypeScriptFile(file: string): boolean {
  return TYPESCRIPT.test(file);
}

let typescriptReady = false;

/**
 * Make this thread ready to import the user's TypeScript file `file`.
 * Compiled, the modules of this package that `file` imports are loaded
 * first, then the loader is registered (`ensureTypeScriptLoader`): once
 * registered, every module a thread loads goes through the loader, and
 * loading the library that way took three times as long (`npm run bench`,
 * startup). From sources, nothing to do.
 */
export async function prepareTypeScriptImport(file: string): Promise<void> {
  if (!typescriptReady && runningCompiled) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      // Reading it again is the importer's business (and error message).
    }
    await Promise.all(ownImportsOf(text, file).map((url) => import(url)));
  }
  ensureTypeScriptLoader();
}

/** Import specifiers in a module's text (`from '...'`, `import '...'`, `import('...')`). */
const SPECIFIER = /\b(?:from|import)\s*\(?\s*(['"])([^'"\n]+)\1/g;

/**
 * The compiled modules of this package that the source text of `file`
 * imports: `dmabuf-lab` and `dmabuf-lab/<layer>` (as `SCENARIO_HOOKS`
 * resolves them), and relative paths into a checkout's `src/` (their
 * `dist/` twins). Only those that exist.
 */
export function ownImportsOf(
  text: string,
  file: string,
  exists: (path: string) => boolean = existsSync,
): string[] {
  const root = fileURLToPath(packageRoot);
  const out = new Set<string>();
  for (const m of text.matchAll(SPECIFIER)) {
    const spec = m[2]!;
    let path: string | null = null;
    if (spec === PACKAGE_NAME || spec.startsWith(`${PACKAGE_NAME}/`)) {
      const sub = spec.slice(PACKAGE_NAME.length + 1);
      if (sub === '' || /^[a-z]+$/.test(sub)) path = resolve(root, 'dist', 'src', sub, 'index.js');
    } else if (spec.startsWith('.')) {
      const rel = relative(resolve(root, 'src'), resolve(dirname(file), spec));
      if (!rel.startsWith('..') && !rel.startsWith(sep) && /\.(ts|js)$/.test(rel))
        path = resolve(root, 'dist', 'src', rel.replace(/\.ts$/, '.js'));
    }
    if (path !== null && exists(path)) out.add(pathToFileURL(path).href);
  }
  return [...out];
}

/**
 * Make this thread able to import a user's TypeScript file (prefer
 * `prepareTypeScriptImport`, which loads the library first). Compiled, the
 * first call registers tsx (about 0.1 s: a module-hooks thread loading tsx)
 * and `registerScenarioHook`; from sources the thread already loads
 * TypeScript (tsx or vitest) and nothing happens. Idempotent.
 */
export function ensureTypeScriptLoader(): void {
  if (typescriptReady) return;
  typescriptReady = true;
  if (!runningCompiled) return;
  try {
    registerTsx();
  } catch (e) {
    typescriptReady = false;
    throw new Error(
      `Loading a TypeScript scenario needs tsx, a dependency of dmabuf-lab, which did not load (${e instanceof Error ? e.message : String(e)}). ` +
        'Reinstall dmabuf-lab (npm install dmabuf-lab), or compile the scenario to JavaScript.',
      { cause: e },
    );
  }
  registerScenarioHook();
}

/**
 * Register tsx's ESM hooks module (`tsx/esm`, what `node --import tsx/esm`
 * installs) directly, with the options `register()` of `tsx/esm/api` gives
 * it minus its unregister port. Importing `tsx/esm/api` first only to call
 * its `register` loads tsx and esbuild a second time in this thread, which
 * was a tenth of `run ./scenario.ts`'s start-up (measured with `npm run bench`).
 * Source maps on, as tsx's own `register` does, so stack traces name the
 * lines of the user's `.ts` file.
 */
function registerTsx(): void {
  register(import.meta.resolve('tsx/esm'), { parentURL: import.meta.url, data: {} });
  process.setSourceMapsEnabled(true);
}

/** The package's name: what users' scenario files import. */
export const PACKAGE_NAME = 'dmabuf-lab';

/** URL of this copy's package root (the folder holding package.json), ending in `/`. */
export const packageRoot: string = new URL(
  runningCompiled ? '../../../' : '../../',
  import.meta.url,
).href;

/**
 * Resolve hooks for users' scenario files, given `{ root, compiled, name }`:
 *
 * - One copy of the library per thread. A scenario in a checkout imports the
 *   sources (`../src/index.ts`), one in a project imports the package
 *   (`dmabuf-lab`); the thread runs one copy, compiled or from sources. Two
 *   copies would each have their own classes (`instanceof` fails across
 *   them) and module state. So `dmabuf-lab` and `dmabuf-lab/<layer>` resolve
 *   to this copy (also where no `node_modules` holds the package, e.g. a
 *   file written by `dmabuf-lab new` in an empty folder), and a module of
 *   this package to the form the thread runs: `src/x.ts` to `dist/src/x.js`
 *   when compiled (the CLI runs `dist/` only when it is current), and back
 *   from sources.
 * - A `.ts` file outside node_modules is an ES module. Outside a package
 *   whose package.json says `"type": "module"`, Node and tsx treat a `.ts`
 *   file as CommonJS, and Node 20's ESM detection then fails with "Cannot
 *   require() ES Module ... in a cycle". A scenario file has `export
 *   default`, so it is a module.
 */
const SCENARIO_HOOKS = `
import { existsSync } from 'node:fs';
let src = null, dist = null, compiled = true, name = null;
export function initialize(data) {
  src = data.root + 'src/';
  dist = data.root + 'dist/src/';
  compiled = data.compiled;
  name = data.name;
}
function ownEntry(specifier) {
  if (specifier !== name && !specifier.startsWith(name + '/')) return null;
  const sub = specifier.slice(name.length + 1);
  if (sub !== '' && !/^[a-z]+$/.test(sub)) return null;
  const url = (compiled ? dist : src) + (sub ? sub + '/' : '') + (compiled ? 'index.js' : 'index.ts');
  return existsSync(new URL(url)) ? url : null;
}
export async function resolve(specifier, context, nextResolve) {
  const own = ownEntry(specifier);
  if (own) return { url: own, format: 'module', shortCircuit: true };
  const r = await nextResolve(specifier, context);
  if (compiled && r.url.startsWith(src) && r.url.endsWith('.ts')) {
    return { url: dist + r.url.slice(src.length, -3) + '.js', format: 'module', shortCircuit: true };
  }
  if (!compiled && r.url.startsWith(dist) && r.url.endsWith('.js')) {
    return { url: src + r.url.slice(dist.length, -3) + '.ts', format: 'module', shortCircuit: true };
  }
  if (r.format !== 'module' && r.url.startsWith('file:') && r.url.endsWith('.ts') && !r.url.includes('/node_modules/')) {
    return { ...r, format: 'module' };
  }
  return r;
}
`;

/** Set on `globalThis` in a thread whose `SCENARIO_HOOKS` are registered (by either way below). */
const HOOKS_MARK = Symbol.for('dmabuf-lab.scenario-hooks');

function hooksRegistration(): { url: string; data: Record<string, unknown> } {
  return {
    url: `data:text/javascript,${encodeURIComponent(SCENARIO_HOOKS)}`,
    data: { root: packageRoot, compiled: runningCompiled, name: PACKAGE_NAME },
  };
}

/**
 * Install `SCENARIO_HOOKS` once per thread. Registered after tsx, so they run
 * first in the chain and see tsx's resolution.
 */
export function registerScenarioHook(): void {
  const g = globalThis as Record<symbol, unknown>;
  if (g[HOOKS_MARK]) return;
  g[HOOKS_MARK] = true;
  const { url, data } = hooksRegistration();
  register(url, { data });
}

/**
 * The same hooks for a worker thread, as a module to `--import` before its
 * entry (the explorer pool's `workerPreload`): a data URL that registers them
 * and marks the thread, so `registerScenarioHook` there does not add them twice.
 */
export function scenarioHookPreload(): string {
  const { url, data } = hooksRegistration();
  const code =
    `import { register } from 'node:module'; ` +
    `register(${JSON.stringify(url)}, { data: ${JSON.stringify(data)} }); ` +
    `globalThis[Symbol.for('dmabuf-lab.scenario-hooks')] = true;`;
  return `data:text/javascript,${encodeURIComponent(code)}`;
}
