import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { JsonView } from "./JsonView";

describe("JsonView", () => {
  it("is a named region a keyboard user can tab into to scroll", async () => {
    render(<JsonView value={{ answer: 42 }} label="Execution output" />);
    const region = screen.getByRole("region", { name: "Execution output" });
    expect(region).toHaveTextContent('"answer": 42');
    await userEvent.tab();
    expect(region).toHaveFocus();
  });

  it("shows a string as it is and nothing as a dash", () => {
    const { rerender } = render(<JsonView value="plain text" />);
    expect(screen.getByText("plain text")).toBeInTheDocument();
    rerender(<JsonView value={undefined} />);
    expect(screen.getByText("—")).toBeInTheDocument();
  });
});
