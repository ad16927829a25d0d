/**
 * How to start a worker thread that can import this package's modules: the
 * one place that knows whether the code runs from TypeScript sources (a
 * worker then needs tsx registered before it imports anything) or from
 * compiled JavaScript (it needs nothing). The explorer's worker pool takes
 * its `filename` and `execArgv` from here.
 */

/** What to give `new Worker(filename, { execArgv })` or `new Piscina({ filename, execArgv })`. */
export interface WorkerStart {
  /** The entry module, as a file URL. */
  readonly filename: string;
  readonly execArgv: string[];
}

/**
 * Start `name` (an ES module beside this one: `./name.mts`, or `./name.mjs`
 * once compiled) in a worker. The `.mts` / `.mjs` extension matters: piscina
 * tries `require()` before `import()`, and a module loaded through
 * `require()` (tsx compiles it to CommonJS) would get its own copy of every
 * module it imports, apart from the copies the scenario's `import`s load
 * (two `Thread` classes, two kref trackers). An ES-only extension makes
 * `require()` fail, so the worker imports it as ESM. `preload` adds modules
 * imported first (for example a resolve hook for users' TypeScript
 * scenario files).
 */
export function moduleWorker(name: string, preload: readonly string[] = []): WorkerStart {
  const ts = import.meta.url.endsWith('.ts');
  const entry = new URL(`./${name}${ts ? '.mts' : '.mjs'}`, import.meta.url).href;
  const execArgv: string[] = [];
  if (ts) {
    // tsx's ESM API, registered before the entry loads (one loader chain:
    // registering tsx twice would give a module a second instance).
    const api = import.meta.resolve('tsx/esm/api');
    const code = `import { register } from ${JSON.stringify(api)}; register();`;
    execArgv.push('--import', `data:text/javascript,${encodeURIComponent(code)}`);
  }
  for (const p of preload) execArgv.push('--import', p);
  return { filename: entry, execArgv };
}
