import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { fakeApi } from "../test/fakeApi";
import { CredentialsSection } from "./CredentialsSection";

const PROVIDER = {
  id: "c1",
  name: "OpenAI",
  kind: "openai",
  settings: {},
  shared: false,
  owned: true,
  has_value: true,
  value_hint: "sk-…cdef",
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-01T00:00:00Z",
};
const BEARER = { ...PROVIDER, id: "c2", name: "Hook", kind: "http_bearer" };

describe("CredentialsSection", () => {
  it("tests a provider credential and shows the answer; other kinds have no Test button", async () => {
    fakeApi.on("GET", "/api/v1/credentials", { body: [PROVIDER, BEARER] });
    fakeApi.on("POST", "/api/v1/credentials/c1/test", {
      body: { ok: false, message: "https://api.openai.com/v1/models refused the key (HTTP 401)" },
    });
    render(<CredentialsSection isAdmin={false} />);

    const buttons = await screen.findAllByRole("button", { name: "Test" });
    expect(buttons).toHaveLength(1);
    await userEvent.click(buttons[0]);

    expect(await screen.findByText(/refused the key \(HTTP 401\)/)).toBeInTheDocument();
  });
});
