import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { getToken, setToken } from "../api/session";
import { errorReply, fakeApi } from "../test/fakeApi";
import { PasswordForm } from "./PasswordForm";

const CHANGE = "/api/v1/auth/password";
const USER = { id: "u1", email: "ada@example.com", name: null, role: "user", created_at: "2026-01-01T00:00:00Z" };

async function fill(current: string, next: string, confirm: string) {
  await userEvent.type(screen.getByLabelText("Current password"), current);
  await userEvent.type(screen.getByLabelText("New password"), next);
  await userEvent.type(screen.getByLabelText("Confirm new password"), confirm);
  await userEvent.click(screen.getByRole("button", { name: "Change password" }));
}

describe("PasswordForm", () => {
  it("changes the password and keeps the session going with the new token", async () => {
    setToken("old-token");
    fakeApi.on("POST", CHANGE, { body: { access_token: "new-token", token_type: "bearer", expires_in: 60, user: USER } });
    render(<PasswordForm />);

    await fill("old password", "a new passphrase", "a new passphrase");

    expect(await screen.findByRole("status")).toHaveTextContent("Password changed");
    expect(getToken()).toBe("new-token");
    const sent = fakeApi.requests.find((r) => r.path === CHANGE);
    expect(sent?.body).toEqual({ current_password: "old password", new_password: "a new passphrase" });
  });

  it("says so when the current password is wrong, and keeps the old token", async () => {
    setToken("old-token");
    fakeApi.on("POST", CHANGE, errorReply(403, "wrong_password", "The current password is wrong."));
    render(<PasswordForm />);

    await fill("guess", "a new passphrase", "a new passphrase");

    expect(await screen.findByRole("alert")).toHaveTextContent("The current password is wrong.");
    expect(getToken()).toBe("old-token");
  });

  it("refuses a confirmation that differs, or a short password, without asking the server", async () => {
    render(<PasswordForm />);

    await fill("old password", "a new passphrase", "another passphrase");
    expect(await screen.findByRole("alert")).toHaveTextContent("differ");

    await userEvent.clear(screen.getByLabelText("New password"));
    await userEvent.type(screen.getByLabelText("New password"), "short");
    await userEvent.click(screen.getByRole("button", { name: "Change password" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("at least 8 characters");
    expect(fakeApi.requests.filter((r) => r.path === CHANGE)).toEqual([]);
  });
});
