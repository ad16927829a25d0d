import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    // Every `bin/dmabuf-lab.js` a test spawns runs the current sources, never a
    // dist/ an earlier build (or the package test's `npm pack`) left behind.
    env: { DMABUF_LAB_SOURCES: '1' },
  },
});
