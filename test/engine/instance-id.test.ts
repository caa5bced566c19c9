import { describe, expect, it } from "vitest";
import { checkInstanceId, childInstanceId, instanceIdBytesMax } from "../../src/engine/instance-id.js";

const bytes = (s: string): number => new TextEncoder().encode(s).length;

describe("checkInstanceId: length in UTF-8 bytes", () => {
  const cases: { name: string; id: string; bytes: number; expected: "too-long" | "invalid" | undefined }[] = [
    { name: "64 ASCII letters", id: "a".repeat(64), bytes: 64, expected: undefined },
    { name: "65 ASCII letters", id: "a".repeat(65), bytes: 65, expected: "too-long" },
    { name: "32 × é (2 bytes each)", id: "é".repeat(32), bytes: 64, expected: undefined },
    { name: "32 × é + a (33 chars)", id: "é".repeat(32) + "a", bytes: 65, expected: "too-long" },
    { name: "21 × 日 + a", id: "日".repeat(21) + "a", bytes: 64, expected: undefined },
    { name: "21 × 日 + ab (23 chars)", id: "日".repeat(21) + "ab", bytes: 65, expected: "too-long" },
    { name: "22 × 日 (22 chars)", id: "日".repeat(22), bytes: 66, expected: "too-long" },
    // Length is checked before characters: an over-long ID of invalid characters is "too-long".
    { name: "65 × $", id: "$".repeat(65), bytes: 65, expected: "too-long" },
    { name: "17 × 😀 (34 UTF-16 units)", id: "😀".repeat(17), bytes: 68, expected: "too-long" },
    { name: "16 × 😀", id: "😀".repeat(16), bytes: 64, expected: "invalid" },
  ];
  it.each(cases)("$name ($bytes bytes) → $expected", ({ id, bytes: size, expected }) => {
    expect(bytes(id)).toBe(size); // guards the table itself
    expect(checkInstanceId(id)).toBe(expected);
  });

  it("the limit is 64 bytes", () => {
    expect(instanceIdBytesMax).toBe(64);
  });
});

describe("checkInstanceId: characters", () => {
  const valid = [
    "abc",
    "ABC",
    "order-1",
    "order_1",
    "_",
    "-",
    "0123456789",
    "日本語",
    "Ünïcödé", // precomposed (NFC) letters
    "Привет",
    "٣٤٥", // Arabic-Indic digits (category Nd)
    "a".repeat(64),
  ];
  it.each(valid)("%s is valid", (id) => {
    expect(checkInstanceId(id)).toBeUndefined();
  });

  const invalid = [
    "invalid$ID",
    "a:b",
    "p:0001",
    "",
    "a b",
    "a.b",
    "a/b",
    "a+b",
    "tab\t",
    "😀",
    "²", // superscript two: a number, but not a decimal digit (No, not Nd)
    "Ⅻ", // roman numeral (Nl): neither letter nor decimal digit
    "Ünïcödé".normalize("NFD"), // combining marks are not letters
  ];
  it.each(invalid)("%j is invalid", (id) => {
    expect(checkInstanceId(id)).toBe("invalid");
  });
});

describe("childInstanceId", () => {
  const cases: [string, number, string][] = [
    ["p", 1, "p:0001"],
    ["p", 10, "p:000a"],
    ["p", 255, "p:00ff"],
    ["p", 0xabcd, "p:abcd"],
    ["order-1", 3, "order-1:0003"],
    ["p", 0x10000, "p:10000"],
  ];
  it.each(cases)("childInstanceId(%j, %d) = %j", (parent, id, expected) => {
    expect(childInstanceId(parent, id)).toBe(expected);
  });

  it("derived child IDs fall outside the client ID rule", () => {
    expect(checkInstanceId(childInstanceId("p", 1))).toBe("invalid");
  });
});
