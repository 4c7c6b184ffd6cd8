import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { SigningControls } from "./SigningControls";

const URL = "/hooks/abc";

describe("SigningControls", () => {
  it("offers a secret for an unsigned webhook, without a required switch", async () => {
    const onIssue = vi.fn();
    render(<SigningControls webhook={{ url: URL }} onIssue={onIssue} onRemove={() => {}} onRequireChange={() => {}} />);
    expect(screen.getByText("Not signed")).toBeInTheDocument();
    expect(screen.queryByRole("checkbox")).toBeNull();
    expect(screen.queryByRole("button", { name: "Remove signing secret" })).toBeNull();
    await userEvent.click(screen.getByRole("button", { name: "Create signing secret" }));
    expect(onIssue).toHaveBeenCalledOnce();
  });

  it("shows a signed webhook's rule and hands each action to the page", async () => {
    const onIssue = vi.fn();
    const onRemove = vi.fn();
    const onRequireChange = vi.fn();
    render(
      <SigningControls
        webhook={{ url: URL, has_signing_secret: true, require_signature: true }}
        onIssue={onIssue}
        onRemove={onRemove}
        onRequireChange={onRequireChange}
      />,
    );
    expect(screen.getByText("Signed")).toBeInTheDocument();
    const required = screen.getByRole("checkbox", { name: "required" });
    expect(required).toBeChecked();
    await userEvent.click(required);
    expect(onRequireChange).toHaveBeenCalledWith(false);
    await userEvent.click(screen.getByRole("button", { name: "Rotate signing secret" }));
    expect(onIssue).toHaveBeenCalledOnce();
    await userEvent.click(screen.getByRole("button", { name: "Remove signing secret" }));
    expect(onRemove).toHaveBeenCalledOnce();
  });

  it("lets required be turned off even without a secret", () => {
    render(
      <SigningControls
        webhook={{ url: URL, require_signature: true }}
        onIssue={() => {}}
        onRemove={() => {}}
        onRequireChange={() => {}}
      />,
    );
    expect(screen.getByRole("checkbox", { name: "required" })).toBeChecked();
  });
});
