// The module a worker thread starts on when dmabuf-lab runs from its
// TypeScript sources (a checkout, under bin/dmabuf-lab.js or vitest): Node 20
// workers do not inherit the parent's module hooks, so this registers tsx,
// then imports the entry and re-exports the handler Piscina looks for.
// `workerStart` in src/explore/module-loading.ts fills `dmabufLabBoot`;
// compiled code never comes here.
import { workerData } from 'node:worker_threads';

const boot = workerData?.dmabufLabBoot;
if (!boot) {
  throw new Error(
    'scripts/source-worker.mjs started without workerData.dmabufLabBoot: start workers with workerStart() from src/explore/module-loading.ts.',
  );
}
(await import(boot.tsx)).register();
(await import(boot.hooks)).registerScenarioHook();
const entry = await import(boot.entry);

export default entry[boot.name];
