import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ApiError } from "../api/errors";
import { ErrorBanner } from "./ErrorBanner";

describe("ErrorBanner", () => {
  it("shows the message and every field the server named", () => {
    const error = new ApiError(422, "invalid_input", "2 problems", [
      { field: "email", message: "not a valid email" },
      { field: "password", message: "at least 8 characters" },
    ]);
    render(<ErrorBanner error={error} />);
    const alert = screen.getByRole("alert");
    expect(alert).toHaveTextContent("2 problems");
    expect(alert).toHaveTextContent("email: not a valid email");
    expect(alert).toHaveTextContent("password: at least 8 characters");
  });

  it("does not repeat a single problem already in the message", () => {
    const error = new ApiError(409, "conflict", "email: already registered", [{ field: "email", message: "already registered" }]);
    render(<ErrorBanner error={error} />);
    expect(screen.getByRole("alert").querySelectorAll("li")).toHaveLength(0);
  });

  it("shows plain errors and nothing when there is no error", () => {
    const { rerender, container } = render(<ErrorBanner error={null} />);
    expect(container).toBeEmptyDOMElement();
    rerender(<ErrorBanner error={new Error("The file is not valid JSON.")} title="Import failed" />);
    expect(screen.getByRole("alert")).toHaveTextContent("Import failed: The file is not valid JSON.");
  });
});
