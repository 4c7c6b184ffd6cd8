import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import { collectInput, SchemaForm, schemaFields } from "./SchemaForm";

const schema = {
  type: "object",
  required: ["topic"],
  properties: {
    topic: { type: "string", title: "Topic" },
    depth: { type: "integer" },
    tone: { enum: ["formal", "casual"] },
    draft: { type: "boolean" },
    tags: { type: "array" },
  },
};

describe("input form from a JSON Schema", () => {
  it("makes one field per property and reads typed values", () => {
    const fields = schemaFields(schema)!;
    expect(fields.map((f) => [f.name, f.type, f.required])).toEqual([
      ["topic", "string", true],
      ["depth", "integer", false],
      ["tone", "enum", false],
      ["draft", "boolean", false],
      ["tags", "array", false],
    ]);
    const { value, errors } = collectInput(fields, { topic: "agents", depth: "3", draft: true, tags: '["a"]' });
    expect(errors).toEqual({});
    expect(value).toEqual({ topic: "agents", depth: 3, draft: true, tags: ["a"] });
  });

  it("names each field that is missing or malformed", () => {
    const fields = schemaFields(schema)!;
    const { errors } = collectInput(fields, { depth: "2.5", tags: "[oops" });
    expect(errors).toEqual({
      topic: "Topic is required.",
      depth: "depth must be a whole number.",
      tags: "tags must be valid JSON.",
    });
  });

  it("falls back to raw JSON for schemas that are not objects", () => {
    expect(schemaFields({ type: "string" })).toBeNull();
    expect(schemaFields(undefined)).toBeNull();
  });

  it("edits values through its controls", async () => {
    const fields = schemaFields(schema)!;
    let latest: Record<string, unknown> = {};
    function Harness() {
      const [values, setValues] = useState<Record<string, unknown>>({});
      latest = values;
      return <SchemaForm fields={fields} values={values} errors={{ topic: "Topic is required." }} onChange={setValues} />;
    }
    render(<Harness />);
    expect(screen.getByText("Topic is required.")).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText(/Topic/), "durable");
    await userEvent.selectOptions(screen.getByLabelText(/tone/), "casual");
    await userEvent.click(screen.getByLabelText("draft"));
    expect(latest).toEqual({ topic: "durable", tone: "casual", draft: true });
  });
});
