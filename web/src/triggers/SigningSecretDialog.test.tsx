import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { ApiError } from "../api/errors";
import { SigningSecretDialog } from "./SigningSecretDialog";
import type { SigningSecret } from "../api/types";

const URL = "http://relayflow.test/hooks/abc";

function answer(requireSignature: boolean): SigningSecret {
  return {
    webhook_id: "abc",
    signing_secret: "whsec_shown_once",
    require_signature: requireSignature,
    signature_header: "X-Relayflow-Signature",
    timestamp_header: "X-Relayflow-Timestamp",
    scheme: "sha256=hex(HMAC-SHA256(signing_secret, f'{timestamp}.{body}'))",
    tolerance_s: 300,
  };
}

describe("SigningSecretDialog", () => {
  it("creates a secret that requires signatures by default, then shows it once with how to sign", async () => {
    const issue = vi.fn((required: boolean) => Promise.resolve(answer(required)));
    const onClose = vi.fn();
    render(<SigningSecretDialog webhook={{ url: URL, example_input: { customer: "Ada" } }} issue={issue} onClose={onClose} />);
    expect(screen.getByRole("dialog", { name: "Create signing secret" })).toBeInTheDocument();
    expect(screen.getByLabelText(/Require signatures/)).toBeChecked();
    await userEvent.click(screen.getByRole("button", { name: "Create secret" }));

    expect(issue).toHaveBeenCalledWith(true);
    expect(screen.getByRole("dialog", { name: "Signing secret" })).toBeInTheDocument();
    expect(screen.getByTestId("signing-secret")).toHaveTextContent("whsec_shown_once");
    expect(screen.getByText(/Unsigned deliveries are refused/)).toBeInTheDocument();
    const how = screen.getByLabelText("How to sign");
    expect(how).toHaveTextContent("X-Relayflow-Timestamp");
    expect(how).toHaveTextContent("within 300 s");
    expect(how).toHaveTextContent("X-Relayflow-Signature");
    expect(screen.getByTestId("signing-scheme")).toHaveTextContent("HMAC-SHA256");
    const example = screen.getByTestId("signing-example").textContent ?? "";
    expect(example).toContain("SECRET='whsec_shown_once'");
    expect(example).toContain(`curl -X POST '${URL}'`);
    // It signs and sends the webhook's example input, which the workflow's schema accepts.
    expect(example).toContain(`BODY='{"customer":"Ada"}'`);
    expect(example).toContain('-H "X-Relayflow-Signature: sha256=$SIG"');
    expect(screen.getAllByRole("button", { name: "Copy to clipboard" })).toHaveLength(2);

    await userEvent.click(screen.getByRole("button", { name: "Done" }));
    expect(onClose).toHaveBeenCalled();
  });

  it("warns before rotating and keeps the webhook's current rule", async () => {
    const issue = vi.fn((required: boolean) => Promise.resolve(answer(required)));
    render(
      <SigningSecretDialog
        webhook={{ url: URL, has_signing_secret: true, require_signature: false }}
        issue={issue}
        onClose={() => {}}
      />,
    );
    expect(screen.getByRole("dialog", { name: "Rotate signing secret?" })).toHaveTextContent(
      "deliveries signed with the old secret will get 401",
    );
    expect(screen.getByLabelText(/Require signatures/)).not.toBeChecked();
    await userEvent.click(screen.getByRole("button", { name: "Rotate secret" }));
    expect(issue).toHaveBeenCalledWith(false);
    expect(screen.getByText(/Unsigned deliveries are still accepted/)).toBeInTheDocument();
  });

  it("shows the server's error in the dialog and lets the user try again", async () => {
    const issue = vi
      .fn<(required: boolean) => Promise<SigningSecret>>()
      .mockRejectedValueOnce(new ApiError(404, "not_found", "webhook not found"))
      .mockResolvedValueOnce(answer(false));
    render(<SigningSecretDialog webhook={{ url: URL }} issue={issue} onClose={() => {}} />);
    await userEvent.click(screen.getByLabelText(/Require signatures/));
    await userEvent.click(screen.getByRole("button", { name: "Create secret" }));
    expect(screen.getByRole("alert")).toHaveTextContent("webhook not found");
    expect(screen.queryByTestId("signing-secret")).toBeNull();

    await userEvent.click(screen.getByRole("button", { name: "Create secret" }));
    expect(issue).toHaveBeenLastCalledWith(false);
    expect(screen.getByTestId("signing-secret")).toBeInTheDocument();
  });
});
