#!/usr/bin/env node
// Entry point: registers tsx so the CLI (and users' TypeScript scenario files)
// load without a build step, then hands over to src/cli/main.ts.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
