/**
 * `dmabuf-lab new <name>`: write a scenario file to start from. It imports
 * the layers it uses the way its location needs (the package's subpaths in a
 * project, relative paths to the sources inside a dmabuf-lab checkout), has one
 * thread, an expectation, and a comment with the rules for thread bodies,
 * and runs clean as written.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGE_NAME, packageRoot } from '../scenario/module-loading.ts';
import { displayPath, printError } from './format.ts';
import { Exit } from './exit.ts';

/** Options of `dmabuf-lab new`. */
export interface NewOptions {
  force?: boolean;
}

const NAME = /^[a-z0-9][a-z0-9_-]*$/i;

/** Where `new` writes, and the scenario's name. */
export interface NewTarget {
  readonly file: string;
  readonly name: string;
}

/**
 * `foo` → `./foo.ts`; `scenarios/foo` or `scenarios/foo.ts` → that file.
 * Returns an error message for anything else.
 */
export function newTarget(arg: string, cwd: string): NewTarget | string {
  const ext = extname(arg);
  if (ext !== '' && ext !== '.ts')
    return `new writes TypeScript scenario files (.ts); got "${arg}". Give a name such as my-driver, or a path ending in .ts.`;
  const name = basename(arg, '.ts');
  if (!NAME.test(name))
    return `"${name}" is not a usable scenario name: use letters, digits, - and _ (e.g. my-driver).`;
  return { file: resolve(cwd, ext ? arg : `${arg}.ts`), name };
}

/** The checkout this copy runs from (`src/index.ts` beside `package.json`), or null for an installed package. */
function checkoutRoot(): string | null {
  const root = fileURLToPath(packageRoot);
  return existsSync(join(root, 'src', 'index.ts')) ? root : null;
}

/**
 * Where the scenario file imports a layer of the library from: inside the
 * checkout this copy runs from, a relative path to `src/<layer>/index.ts`
 * (as the built-in scenarios do); anywhere else the package's subpath
 * (`dmabuf-lab/<layer>`). Importing the layers it uses, rather than the whole
 * library, keeps a run's start-up to the modules it needs.
 */
export function importSpecifier(file: string, checkout: string | null, layer: string): string {
  const inside =
    checkout !== null &&
    !relative(checkout, file).startsWith('..') &&
    !relative(checkout, file).startsWith(sep);
  if (!inside) return `${PACKAGE_NAME}/${layer}`;
  const spec = relative(dirname(file), join(checkout, 'src', layer, 'index.ts'))
    .split(sep)
    .join('/');
  return spec.startsWith('.') ? spec : `./${spec}`;
}

/** The file's text. */
export function scenarioSource(
  name: string,
  from: (layer: string) => string,
  shownPath: string,
): string {
  const ident = name.replace(/[^a-z0-9]+/gi, '_').toLowerCase();
  return `/**
 * ${name}: TODO say in one sentence what this scenario shows.
 *
 * setup() runs once, before the simulation: it creates objects and starts
 * threads. Each thread body is an async function; one thread runs at a time,
 * and the scheduler may switch only where a thread awaits a kernel operation.
 * Rules for thread bodies (dmabuf-lab's README, "Writing a scenario"):
 * - await every kernel operation that returns a promise (lock, waits, msleep);
 * - await nothing else: no Node timers, I/O or other promises;
 * - no Math.random or Date.now: use k.choose(...) and k.nowNs;
 * - a loop must await a kernel operation, or no other thread ever runs.
 *
 * Run it with: dmabuf-lab run ${shownPath}
 * Each --seed N gives another interleaving: dmabuf-lab run ${shownPath} --seed 2
 */
import { defineScenario } from '${from('scenario')}';
import { msleep, Mutex } from '${from('kernel')}';

export default defineScenario({
  name: '${name}',
  description: 'TODO: what this scenario shows',
  // What a run must show: { verdict: 'clean' }, or the rule ids a bug must
  // report, e.g. { verdict: 'splat', rules: ['lockdep.circular'] }.
  expect: { verdict: 'clean' },
  setup(k, ctx) {
    const lock = new Mutex(k, '${ident}_lock');
    let work = 0;

    k.kthreadRun('${ident}_worker', async () => {
      for (let i = 0; i < 3; i++) {
        await lock.lock();
        work++;
        lock.unlock();
        await msleep(k, 1);
      }
      ctx.note(\`${ident}_worker did \${work} units of work\`);
    });
  },
});
`;
}

/** `dmabuf-lab new <name>`. Returns the exit code. */
export function newCommand(arg: string, opts: NewOptions): number {
  const target = newTarget(arg, process.cwd());
  if (typeof target === 'string') {
    printError(target);
    return Exit.ERROR;
  }
  if (existsSync(target.file) && !opts.force) {
    printError(
      `${displayPath(target.file)} exists; choose another name, or add --force to overwrite it.`,
    );
    return Exit.ERROR;
  }
  const checkout = checkoutRoot();
  const from = (layer: string): string => importSpecifier(target.file, checkout, layer);
  const shown = displayPath(target.file);
  const shownPath = shown.startsWith('/') || shown.startsWith('.') ? shown : `./${shown}`;
  mkdirSync(dirname(target.file), { recursive: true });
  writeFileSync(target.file, scenarioSource(target.name, from, shownPath));
  process.stdout.write(
    `wrote ${shownPath} (scenario ${target.name}, imports '${from('scenario')}' and '${from('kernel')}')\n`,
  );
  process.stdout.write(`run it with: dmabuf-lab run ${shownPath}\n`);
  const packaged = from('kernel').startsWith(`${PACKAGE_NAME}/`);
  if (packaged && !packageVisibleFrom(dirname(target.file)))
    process.stdout.write(
      `note: no node_modules/${PACKAGE_NAME} above ${displayPath(dirname(target.file))}; the file runs with this dmabuf-lab, ` +
        `but for types in your editor and for tsc, install it there: npm install --save-dev ${PACKAGE_NAME}\n`,
    );
  return Exit.OK;
}

/** True when `node_modules/dmabuf-lab` is in `dir` or a folder above it. */
function packageVisibleFrom(dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules', PACKAGE_NAME, 'package.json'))) return true;
    if (dirname(d) === d) return false;
  }
}
