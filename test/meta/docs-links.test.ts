/** The docs link only inside the repository: every relative link resolves to a file here. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const docs = ["README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

describe("documentation links", () => {
  it.each(docs)("%s links to files in the repository only", (doc) => {
    const text = readFileSync(join(root, doc), "utf8");
    expect(text, "no path outside the repository").not.toMatch(/\.\.\/shared\/|\/work\//);
    for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      expect(target, `${doc} links outside the repository`).not.toMatch(/^[a-z]+:/);
      expect(existsSync(resolve(dirname(join(root, doc)), target!)), `${doc} → ${target}`).toBe(true);
    }
  });
});
