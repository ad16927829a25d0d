// The module a worker thread starts on when dmabuf-lab runs from its
// TypeScript sources (a checkout, under bin/dmabuf-lab.js or vitest): Node 20
// workers do not inherit the parent's module hooks, so this registers tsx,
// imports the preload modules (resolve hooks, registered after tsx so that
// they run first, as in the main thread), registers the scenario hooks, then
// imports the entry and re-exports the handler Piscina looks for.
// `workerStart` in src/scenario/module-loading.ts fills `dmabufLabBoot`;
// compiled code never comes here. The top-level awaits also make Piscina's
// require() of this file fail, so Piscina imports it as an ES module.
import { workerData } from 'node:worker_threads';

const boot = workerData?.dmabufLabBoot;
if (!boot) {
  throw new Error(
    'scripts/source-worker.mjs started without workerData.dmabufLabBoot: start workers with workerStart() from src/scenario/module-loading.ts.',
  );
}
(await import(boot.tsx)).register();
for (const p of boot.preload ?? []) await import(p);
(await import(boot.hooks)).registerScenarioHook();
const entry = await import(boot.entry);

export default entry[boot.name];
