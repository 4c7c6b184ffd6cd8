import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { exampleBody, exampleInput } from "./inputExample";

// The same cases the server's generator is tested on (tests/triggers/test_input_example.py),
// so the UI's examples and the API's curl bodies agree.
const cases: { name: string; schema: unknown; example: unknown }[] = JSON.parse(
  readFileSync(resolve(__dirname, "../../../tests/triggers/input_example_cases.json"), "utf8"),
).cases;

describe("exampleInput", () => {
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    expect(exampleInput(c.schema)).toEqual(c.example);
  });

  it("writes compact JSON, like the server", () => {
    expect(exampleBody({ type: "object", properties: { q: { type: "string", examples: ["café"] } } })).toBe('{"q":"café"}');
    expect(exampleBody(undefined)).toBe("{}");
  });
});
