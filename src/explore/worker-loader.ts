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
 * Start `entry` (a module beside this one, `./name.ts` or `./name.js` as
 * this file is) in a worker. `preload` adds modules imported first (for
 * example a resolve hook for users' TypeScript scenario files).
 */
export function moduleWorker(name: string, preload: readonly string[] = []): WorkerStart {
  const ts = import.meta.url.endsWith('.ts');
  const entry = new URL(`./${name}${ts ? '.ts' : '.js'}`, import.meta.url).href;
  const execArgv: string[] = [];
  if (ts) execArgv.push('--import', import.meta.resolve('tsx'));
  for (const p of preload) execArgv.push('--import', p);
  return { filename: entry, execArgv };
}
