/**
 * Multi-app workflows (Dapr 1.16) on one PostgreSQL: two workflowd processes with different
 * app IDs ("orders", "shipping"), each with in-process workflows, run a workflow whose
 * activities and child workflow run in each other's app. Both apps register every name, so
 * the outputs show the routing is by app ID.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { sharedTestPostgres } from "../store/test-postgres.js";
import { eventually, fixturesDir, outputOf, type ServerProcess, useProcesses } from "./harness.js";

const processes = useProcesses();
const workflows = join(fixturesDir, "multi-app-workflows.mjs");
const composeExample = fileURLToPath(new URL("../../deploy/multi-app/workflows.mjs", import.meta.url));

async function completed(server: ServerProcess, instanceId: string): Promise<unknown> {
  await eventually(`${instanceId} to complete`, async () => {
    const state = await server.get(instanceId);
    return state?.runtimeStatus === "COMPLETED" || `${state?.runtimeStatus} ${JSON.stringify(state?.properties)}`;
  }, 20_000, 50);
  return outputOf(await server.get(instanceId));
}

/** An instance's history in the HTTP API's JSON mapping. */
async function historyOf(server: ServerProcess, instanceId: string): Promise<Record<string, unknown>[]> {
  return ((await (await fetch(`${server.baseUrl}/v1.0/workflows/dapr/${instanceId}/history`)).json()) as { events: Record<string, unknown>[] }).events;
}

describe("two apps on one PostgreSQL", () => {
  it("an activity and a child workflow in the other app run there; a call to an app with no replica waits until one starts", async () => {
    const url = await sharedTestPostgres().freshDatabase();
    const app = (id: string) => processes.spawn({
      env: { WORKFLOWD_WORKFLOWS: workflows, WORKFLOWD_DB: url, APP_ID: id, WORKFLOWD_REPLICA_ID: id, FIXTURE_APP: id, LOG_LEVEL: "warn" },
      label: id,
    });
    const orders = await app("orders");
    await orders.waitHealthy();
    await orders.start("order", "o-1", "book");

    // Shipping has no replica yet: the order waits at its activity there (it does not fail).
    await eventually("the order to schedule its activity in shipping", async () => {
      return (await historyOf(orders, "o-1")).some((e) => (e.taskScheduled as { name?: string } | undefined) && (e.router as { targetAppID?: string } | undefined)?.targetAppID === "shipping")
        || "not yet";
    }, 10_000, 50);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await orders.get("o-1"))?.runtimeStatus).toBe("RUNNING");

    const shipping = await app("shipping");
    await shipping.waitHealthy();
    // Every step ran in the app it names; either app answers for any instance.
    expect(await completed(shipping, "o-1")).toEqual({
      item: "book",
      ran: "orders",
      here: "price@orders",
      there: "pack@shipping",
      audit: { item: "book", ran: "shipping", back: "invoice@orders", own: "label@shipping" },
    });
    expect(await orders.get("o-1-audit")).toMatchObject({ runtimeStatus: "COMPLETED" });

    // History records the routing as daprd does: the child's start names both apps.
    const childStart = (await historyOf(orders, "o-1-audit")).find((e) => e.executionStarted)!;
    expect(childStart.router).toEqual({ sourceAppID: "orders", targetAppID: "shipping" });
    expect(childStart.executionStarted).toMatchObject({ parentInstance: { appID: "orders" } });
    expect((await historyOf(orders, "o-1")).find((e) => e.executionStarted)!.router).toEqual({ sourceAppID: "orders" });
  }, 60_000);

  it("the compose example (deploy/docker-compose-multi-app.yaml): each app's workflow calls an activity of the other, started and read through either app", async () => {
    const url = await sharedTestPostgres().freshDatabase();
    const [orders, shipping] = await Promise.all(["orders", "shipping"].map(async (id) => {
      const server = await processes.spawn({ env: { WORKFLOWD_WORKFLOWS: composeExample, WORKFLOWD_DB: url, APP_ID: id, WORKFLOWD_REPLICA_ID: `${id}-1`, LOG_LEVEL: "warn" }, label: id });
      await server.waitHealthy();
      return server;
    }));
    await orders!.start("placeOrder", "order-1", { item: "book", quantity: 2 });
    await shipping!.start("restock", "restock-1", { item: "book", quantity: 50 });
    expect(await completed(shipping!, "order-1")).toEqual({ item: "book", quantity: 2, reservedBy: "orders", tracking: "TRACK-book-2 (by shipping)" });
    expect(await completed(orders!, "restock-1")).toEqual({ ordered: "50 x book ordered (by shipping)", notified: "buyers of book told (by orders)" });
  }, 60_000);
});
