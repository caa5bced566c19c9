import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // better-sqlite3 is a native addon: separate processes keep each file's databases apart.
    pool: "forks",
    // Most files wait on processes, timers and disks rather than the CPU: three at a time
    // on a 2-core machine halves the wall time of the suite (vitest's default is one here).
    maxWorkers: 3,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
