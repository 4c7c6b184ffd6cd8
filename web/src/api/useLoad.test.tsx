import { act, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { ApiError, errorMessage } from "./errors";
import { useLoad } from "./useLoad";

/** Answers the page's requests one by one, in whatever order the test decides. */
function server() {
  const waiting = new Map<string, { resolve: (v: string) => void; reject: (e: unknown) => void }[]>();
  return {
    get(name: string): Promise<string> {
      return new Promise((resolve, reject) => {
        waiting.set(name, [...(waiting.get(name) ?? []), { resolve, reject }]);
      });
    },
    async answer(name: string, value: string) {
      const next = waiting.get(name)?.shift();
      if (!next) throw new Error(`no request for ${name} is waiting`);
      await act(async () => next.resolve(value));
    },
    async fail(name: string, error: unknown) {
      const next = waiting.get(name)?.shift();
      if (!next) throw new Error(`no request for ${name} is waiting`);
      await act(async () => next.reject(error));
    },
  };
}

function Page({ api, name }: { api: ReturnType<typeof server>; name: string }) {
  const item = useLoad(() => api.get(name), [name]);
  const more = () => item.extend(async (shown) => `${shown} + ${await api.get(`${name}, page 2`)}`);
  return (
    <main>
      {item.error ? <p role="alert">{errorMessage(item.error)}</p> : null}
      {item.data === undefined ? <p>Loading…</p> : <h1>{item.data}</h1>}
      <button onClick={() => void item.reload()}>Refresh</button>
      <button onClick={() => void more()}>Load more</button>
    </main>
  );
}

describe("a page's data", () => {
  it("shows the answer for what the user looks at now, not a late answer for what came before", async () => {
    const api = server();
    const { rerender } = render(<Page api={api} name="workflow A" />);
    rerender(<Page api={api} name="workflow B" />);
    await api.answer("workflow B", "Workflow B");
    expect(screen.getByRole("heading")).toHaveTextContent("Workflow B");

    await api.answer("workflow A", "Workflow A");
    expect(screen.getByRole("heading")).toHaveTextContent("Workflow B");
  });

  it("goes back to loading when the page shows something else, without the previous error", async () => {
    const api = server();
    const { rerender } = render(<Page api={api} name="workflow A" />);
    await api.fail("workflow A", new ApiError(404, "not_found", "workflow not found"));
    expect(screen.getByRole("alert")).toHaveTextContent("workflow not found");

    rerender(<Page api={api} name="workflow B" />);
    expect(screen.queryByRole("alert")).toBeNull();
    expect(screen.getByText("Loading…")).toBeInTheDocument();
    await api.answer("workflow B", "Workflow B");
    expect(screen.getByRole("heading")).toHaveTextContent("Workflow B");
  });

  it("a refresh clears the error it retries and keeps the data shown meanwhile", async () => {
    const api = server();
    render(<Page api={api} name="runs" />);
    await api.answer("runs", "3 runs");
    await userEvent.click(screen.getByRole("button", { name: "Refresh" }));
    await api.fail("runs", new ApiError(0, "network", "Cannot reach the relayflow server"));
    expect(screen.getByRole("alert")).toHaveTextContent("Cannot reach the relayflow server");
    expect(screen.getByRole("heading")).toHaveTextContent("3 runs");

    await userEvent.click(screen.getByRole("button", { name: "Refresh" }));
    expect(screen.queryByRole("alert")).toBeNull();
    await api.answer("runs", "4 runs");
    expect(screen.getByRole("heading")).toHaveTextContent("4 runs");
  });

  it("the next page is added to the list shown, unless the user moved on meanwhile", async () => {
    const api = server();
    const { rerender } = render(<Page api={api} name="mine" />);
    await api.answer("mine", "page 1");
    await userEvent.click(screen.getByRole("button", { name: "Load more" }));
    await api.answer("mine, page 2", "page 2");
    expect(screen.getByRole("heading")).toHaveTextContent("page 1 + page 2");

    await userEvent.click(screen.getByRole("button", { name: "Load more" }));
    rerender(<Page api={api} name="public" />);
    await api.answer("mine, page 2", "late page");
    expect(screen.getByText("Loading…")).toBeInTheDocument();
    await api.answer("public", "public page 1");
    expect(screen.getByRole("heading")).toHaveTextContent("public page 1");
  });
});
