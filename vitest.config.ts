import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'chaos/test/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          globalSetup: ['test/setup/stack.ts'],
          testTimeout: 180_000,
          hookTimeout: 240_000,
          // The suite shares one real stack on a two-core machine; files run one after another so
          // timing-sensitive behaviour (rolls, rebalances, kills) is not starved.
          fileParallelism: false,
        },
      },
    ],
  },
});
