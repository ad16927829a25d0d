/**
 * Lets a scenario written in TypeScript with `import`/`export` load from any
 * directory. Outside a package whose package.json says `"type": "module"`,
 * Node and tsx treat a `.ts` file as CommonJS, and Node 20's ESM detection
 * then fails with "Cannot require() ES Module ... in a cycle". A scenario
 * file must be a module (it has `export default`), so this resolve hook marks
 * `.ts` files outside node_modules as ES modules. Registered in the run
 * worker after tsx, so it runs first in the chain.
 */
import { register } from 'node:module';

const HOOK = `
export async function resolve(specifier, context, nextResolve) {
  const r = await nextResolve(specifier, context);
  if (r.format !== 'module' && r.url.startsWith('file:') && r.url.endsWith('.ts') && !r.url.includes('/node_modules/')) {
    return { ...r, format: 'module' };
  }
  return r;
}
`;

let registered = false;

/** Install the hook once per thread. */
export function registerScenarioHook(): void {
  if (registered) return;
  registered = true;
  register(`data:text/javascript,${encodeURIComponent(HOOK)}`);
}

/**
 * The same hook for worker threads, as a module to `--import` first (the
 * explorer's `workerPreload`): a data URL that registers it.
 */
export function scenarioHookPreload(): string {
  const code = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOK)}`)});`;
  return `data:text/javascript,${encodeURIComponent(code)}`;
}
