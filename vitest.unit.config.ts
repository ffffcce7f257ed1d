import { defineConfig } from 'vitest/config';

// Fast suite: pure code and in-memory adapters only. No network.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
  },
});
