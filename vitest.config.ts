import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // CI sets CI=true, which makes picocolors colour its output even into pipes; tests read CLI
    // text, so they run (and the child processes they spawn inherit) with colour off.
    env: { NO_COLOR: '1' },
  },
});
