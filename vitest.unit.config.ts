import { defineConfig } from 'vitest/config';

/**
 * The fast layer (`npm run test:unit`): core and adapters through fakes, no build, no
 * binary, no terminal. Tests that start real processes are named *.e2e.test.ts and run in
 * the full suite (`npm test`).
 */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/**/*.e2e.test.ts', 'node_modules/**'],
    testTimeout: 30_000,
  },
});
