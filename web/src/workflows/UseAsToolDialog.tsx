import { useState } from "react";
import type { Workflow } from "../api/types";
import { CopyButton } from "../components/CopyButton";
import { Dialog } from "../components/Dialog";
import { ErrorBanner } from "../components/ErrorBanner";

type Flags = { chat_model?: boolean; mcp_tool?: boolean };

interface Props {
  workflow: Pick<Workflow, "id" | "name" | "chat_model" | "mcp_tool">;
  origin: string;
  update: (changes: Flags) => Promise<unknown>;
  onClose: () => void;
}

export function toolSnippets(origin: string, workflowId: string) {
  const model = `workflow/${workflowId}`;
  const mcpUrl = `${origin}/mcp`;
  const python = [
    "from openai import OpenAI",
    "",
    `client = OpenAI(base_url="${origin}/v1", api_key=TOKEN)`,
    "reply = client.chat.completions.create(",
    `    model="${model}", messages=[{"role": "user", "content": "Hello"}]`,
    ")",
    "print(reply.choices[0].message.content)",
  ].join("\n");
  const mcpConfig = JSON.stringify(
    { mcpServers: { relayflow: { url: mcpUrl, headers: { Authorization: "Bearer <token>" } } } },
    null,
    2,
  );
  return { model, mcpUrl, python, mcpConfig };
}

/** "Use as a tool": offer a workflow as an OpenAI-compatible model and as an MCP tool. */
export function UseAsToolDialog({ workflow, origin, update, onClose }: Props) {
  const [flags, setFlags] = useState<Flags>({ chat_model: workflow.chat_model, mcp_tool: workflow.mcp_tool });
  const [error, setError] = useState<unknown>(null);
  const snippets = toolSnippets(origin, workflow.id);

  const toggle = async (changes: Flags) => {
    setError(null);
    try {
      await update(changes);
      setFlags((now) => ({ ...now, ...changes }));
    } catch (err) {
      setError(err);
    }
  };

  return (
    <Dialog title={`Use “${workflow.name}” as a tool`} onClose={onClose} wide footer={<button onClick={onClose}>Done</button>}>
      <ErrorBanner error={error} />
      <p className="muted small">
        Only you can call it, with your sign-in token (sent as <code>Authorization: Bearer</code>). Runs appear in the
        history like any other.
      </p>
      <label className="check">
        <input
          type="checkbox"
          checked={Boolean(flags.chat_model)}
          onChange={(e) => void toggle({ chat_model: e.target.checked })}
        />
        Chat model (OpenAI-compatible API)
      </label>
      <div className="row small">
        Model <code data-testid="model-name">{snippets.model}</code> at <code>{origin}/v1</code>
        <CopyButton text={snippets.model} />
      </div>
      <pre data-testid="python-snippet">{snippets.python}</pre>
      <CopyButton text={snippets.python} />
      <label className="check">
        <input
          type="checkbox"
          checked={Boolean(flags.mcp_tool)}
          onChange={(e) => void toggle({ mcp_tool: e.target.checked })}
        />
        MCP tool
      </label>
      <div className="row small">
        MCP server <code data-testid="mcp-url">{snippets.mcpUrl}</code> (streamable HTTP)
        <CopyButton text={snippets.mcpUrl} />
      </div>
      <pre data-testid="mcp-config">{snippets.mcpConfig}</pre>
      <CopyButton text={snippets.mcpConfig} />
    </Dialog>
  );
}
