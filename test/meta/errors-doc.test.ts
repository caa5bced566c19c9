/** docs/errors.md and the error catalogue must list the same codes with the same statuses. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { errorCatalogue } from "../../src/api/errors.js";

const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");
const rows = [...doc.matchAll(/^\| `(ERR_[A-Z_]+|ERROR)` \| ([\d /]+) \|/gm)].map((m) => ({
  code: m[1]!,
  statuses: m[2]!.trim().split(" / ").map(Number),
}));

describe("docs/errors.md", () => {
  it("lists exactly the catalogue's codes", () => {
    expect(rows.map((r) => r.code).sort()).toEqual(Object.keys(errorCatalogue).sort());
  });

  it.each(rows.map((r) => [r.code, r.statuses]))("%s has the catalogue's status", (code, statuses) => {
    expect(statuses).toContain(errorCatalogue[code as keyof typeof errorCatalogue].status);
  });
});
