/**
 * The first module the `dmabuf-lab` command loads (bin/dmabuf-lab.js, before
 * main): for a command line that runs a scenario in the run worker (`run`,
 * `replay`, except `run --seeds` and help), it starts that worker at once,
 * so that the worker's start and its loading of the model overlap the main
 * thread's loading of commander and parsing. Everything else waits for main.
 * The decision only looks at the words: a command line it gets wrong still
 * works (an unused worker does not keep the process alive; a run without a
 * prestarted worker starts one).
 */

/** True when `args` (process.argv without node and the script) will run a scenario in the run worker. */
export function runsInWorker(args: readonly string[]): boolean {
  const command = args[0];
  if (command !== 'run' && command !== 'replay') return false;
  return !args.some((a) => a === '--seeds' || a.startsWith('--seeds=') || a === '-h' || a === '--help');
}

/** Start the run worker now when the command line will need it (see the module comment). */
export async function prestart(args: readonly string[]): Promise<void> {
  if (!runsInWorker(args)) return;
  const { prestartRunWorker } = await import('./supervisor.ts');
  prestartRunWorker();
}
