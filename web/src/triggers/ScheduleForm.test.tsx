import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { ApiError } from "../api/errors";
import { ScheduleForm } from "./ScheduleForm";

const plan = { name: "digest", cron: "0 9 * * 1-5", timezone: "Europe/Paris", input: { topic: "news" }, missed_policy: "skip" as const };

describe("ScheduleForm (editing a schedule in place)", () => {
  it("starts from the schedule and saves what was changed", async () => {
    const onSubmit = vi.fn(async () => {});
    render(<ScheduleForm initial={plan} submitLabel="Save" onSubmit={onSubmit} onCancel={() => {}} />);
    expect(screen.getByLabelText("Cron expression")).toHaveValue("0 9 * * 1-5");
    expect(screen.getByLabelText("Time zone")).toHaveValue("Europe/Paris");

    await userEvent.clear(screen.getByLabelText("Cron expression"));
    await userEvent.type(screen.getByLabelText("Cron expression"), "30 8 * * 1,3,5");
    await userEvent.selectOptions(screen.getByLabelText("After downtime"), "run_once");
    await userEvent.click(screen.getByRole("button", { name: "Save" }));

    expect(onSubmit).toHaveBeenCalledWith({ ...plan, cron: "30 8 * * 1,3,5", missed_policy: "run_once" });
  });

  it("shows the server's refusal and keeps the form open", async () => {
    const refusal = new ApiError(422, "validation_error", "cron: '61 * * * *' is not a valid cron expression", []);
    const onSubmit = vi.fn(() => Promise.reject(refusal));
    render(<ScheduleForm initial={plan} submitLabel="Save" onSubmit={onSubmit} onCancel={() => {}} />);
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("cron: '61 * * * *' is not a valid cron expression");
    expect(screen.getByRole("button", { name: "Save" })).toBeEnabled();
  });

  it("names bad JSON input without calling the server", async () => {
    const onSubmit = vi.fn(async () => {});
    render(<ScheduleForm initial={plan} submitLabel="Save" onSubmit={onSubmit} onCancel={() => {}} />);
    await userEvent.clear(screen.getByLabelText("Input (JSON)"));
    await userEvent.type(screen.getByLabelText("Input (JSON)"), "nope");
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(screen.getByRole("alert")).toHaveTextContent("Input: not valid JSON");
    expect(onSubmit).not.toHaveBeenCalled();
  });
});
