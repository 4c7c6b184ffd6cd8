import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { RunDialog } from "./RunDialog";

const orderSchema = {
  type: "object",
  required: ["customer", "priority", "count"],
  properties: {
    customer: { type: "string", title: "Customer", description: "Who the order is for.", examples: ["Ada Lovelace"] },
    email: { type: "string", format: "email" },
    count: { type: "integer", minimum: 2, description: "How many to ship." },
    priority: { enum: ["low", "high"] },
    gift: { type: "boolean" },
    tags: { type: "array", items: { type: "string" } },
  },
};

function open(schema: unknown) {
  const onRun = vi.fn(async (_input: unknown) => {});
  render(<RunDialog schema={schema} onClose={() => {}} onRun={onRun} />);
  return onRun;
}

/** The block of one field (its head, hint, control and error). */
function fieldBlock(name: string): HTMLElement {
  const block = document.querySelector<HTMLElement>(`[data-field="${name}"]`);
  if (!block) throw new Error(`no field ${name}`);
  return block;
}

describe("RunDialog", () => {
  it("shows each field's label, type, description, required marker and an example", () => {
    open(orderSchema);

    const customer = fieldBlock("customer");
    // Title, marker and type share one line (the head), not a line each.
    const head = customer.querySelector(".schema-field-head")!;
    expect(head.textContent).toBe("Customer*string");
    expect(within(customer).getByText("Who the order is for.")).toBeInTheDocument();
    const input = screen.getByLabelText("Customer");
    expect(input).toHaveAttribute("placeholder", "e.g. Ada Lovelace");
    expect(input).toHaveAttribute("aria-required", "true");
    expect(input).toHaveAccessibleDescription("Who the order is for.");

    expect(fieldBlock("email").querySelector(".schema-field-head")!.textContent).toBe("emailstring (email)");
    expect(screen.getByLabelText("email")).toHaveAttribute("placeholder", "e.g. user@example.com");
    expect(fieldBlock("count").querySelector(".schema-field-head")!.textContent).toBe("count*integer");
    expect(screen.getByLabelText("count")).toHaveAttribute("placeholder", "e.g. 2");
    expect(fieldBlock("priority").querySelector(".schema-field-head")!.textContent).toBe("priority*one of");
    expect(fieldBlock("tags").querySelector(".schema-field-head")!.textContent).toBe("tagsarray of string");
    expect(screen.getByLabelText("tags")).toHaveAttribute("placeholder", '[\n  "example"\n]');
    expect(screen.getByLabelText("gift")).not.toBeChecked();
  });

  it("starts a run from the filled-in examples", async () => {
    const onRun = open(orderSchema);

    await userEvent.click(screen.getByRole("button", { name: "Fill in examples" }));
    await userEvent.click(screen.getByRole("button", { name: "Start run" }));

    expect(onRun).toHaveBeenCalledWith({
      customer: "Ada Lovelace",
      email: "user@example.com",
      count: 2,
      priority: "low",
      gift: false,
      tags: ["example"],
    });
  });

  it("names the required fields left empty instead of starting", async () => {
    const onRun = open(orderSchema);

    await userEvent.type(screen.getByLabelText("Customer"), "Grace");
    await userEvent.click(screen.getByRole("button", { name: "Start run" }));

    expect(onRun).not.toHaveBeenCalled();
    expect(within(fieldBlock("count")).getByText("count is required.")).toBeInTheDocument();
    expect(within(fieldBlock("priority")).getByText("priority is required.")).toBeInTheDocument();
    expect(screen.getByLabelText("count")).toHaveAccessibleDescription("How many to ship. count is required.");
  });

  it("starts from {} without a schema", async () => {
    const onRun = open(undefined);

    expect(screen.getByLabelText("Input (JSON)")).toHaveValue("{}");
    expect(screen.getByText("The input node has no schema, so any JSON value is accepted.")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Start run" }));

    expect(onRun).toHaveBeenCalledWith({});
  });

  it("fills in an example for a schema that is not an object", async () => {
    const onRun = open({ type: "array", items: { type: "string", examples: ["first step"] } });

    expect(JSON.parse((screen.getByLabelText("Input (JSON)") as HTMLTextAreaElement).value)).toEqual(["first step"]);
    await userEvent.click(screen.getByRole("button", { name: "Start run" }));

    expect(onRun).toHaveBeenCalledWith(["first step"]);
  });
});
