import { defineConfig } from 'vitest/config';

// One project per test level (ARCHITECTURE §7): unit runs in process with nothing installed, int
// needs real external parts (nats-server, yara, the sandbox's unshare, worker processes), e2e
// boots the whole appliance. Packages are resolved to their TypeScript sources through the
// "source" export condition. What has to run compiled (sandboxed stage workers, worker threads,
// the CLI) runs from dist/, which ops/test-build.mjs brings up to date before int and e2e tests.
const shared = {
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
};
// Dependencies whose own `exports` have a "source" condition pointing at TypeScript (the MCP SDK's
// eventsource and eventsource-parser): externalized, Node would load that .ts and fail, so they
// are transformed by vitest, and so is the SDK that imports them.
const server = {
  deps: { inline: ['@modelcontextprotocol/sdk', 'eventsource-parser', 'eventsource'] },
};

export default defineConfig({
  test: {
    // Two test files at a time even on two cores: most int files wait on other processes
    // (nats-server, sandboxed workers, fsync), so the second worker nearly halves the int level's
    // wall time (measured: 4.5 min with two workers under a loaded machine, against ~8 with one).
    // The e2e level stays one file at a time (fileParallelism: false): each boots an appliance.
    maxWorkers: 2,
    projects: [
      {
        ...shared,
        test: {
          name: 'unit',
          server,
          include: ['**/test/**/*.unit.spec.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          testTimeout: 30_000,
        },
      },
      {
        ...shared,
        test: {
          name: 'int',
          server,
          include: ['**/test/**/*.int.spec.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          globalSetup: ['./ops/test-build.mjs'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        ...shared,
        test: {
          name: 'e2e',
          server,
          include: ['**/test/**/*.e2e.spec.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          globalSetup: ['./ops/test-build.mjs'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
