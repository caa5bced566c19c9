/**
 * A server with DAPR_API_TOKEN: the CLI sends DAPR_API_TOKEN as the `dapr-api-token`
 * header; without it (or with another token) the server's 401 is exit 1 with a hint.
 */
import { describe, expect, it } from "vitest";
import { useSharedServer } from "./helpers.js";

const token = "s3cret-token";
const shared = useSharedServer({ DAPR_API_TOKEN: token });

describe("the API token", () => {
  it("without DAPR_API_TOKEN, or with another one, the 401 is exit 1 and says which variable to set", async () => {
    const [none, wrong] = await Promise.all([shared.run(["list"]), shared.run(["start", "echo"], { DAPR_API_TOKEN: "guess" })]);
    for (const result of [none, wrong]) {
      expect(result).toEqual({
        code: 1,
        stdout: "",
        stderr: "error: invalid api token (HTTP 401) (set DAPR_API_TOKEN to the server's API token)\n",
      });
    }
  });

  it("with DAPR_API_TOKEN every request carries it", async () => {
    const env = { DAPR_API_TOKEN: token };
    expect(await shared.run(["start", "echo", "--id", "tok-1", "--input", '"t"'], env)).toEqual({ code: 0, stdout: "tok-1\n", stderr: "" });
    const listed = await shared.run(["list", "-o", "ids"], env);
    expect(listed).toEqual({ code: 0, stdout: "tok-1\n", stderr: "" });
    const got = await shared.run(["get", "tok-1", "-o", "json"], env);
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject({ instanceID: "tok-1", workflowName: "echo" });
  });
});
