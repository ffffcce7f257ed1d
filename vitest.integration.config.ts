import { defineConfig } from 'vitest/config';

// Real services (Kafka, Redis, Cassandra) started by `npm run stack -- up`.
// Files run one at a time: the machine has 2 cores and the services share them.
export default defineConfig({
  test: {
    include: ['test/integration/**/*.test.ts', 'test/contract/**/*.test.ts', 'test/fault/**/*.test.ts', 'test/e2e/**/*.test.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
