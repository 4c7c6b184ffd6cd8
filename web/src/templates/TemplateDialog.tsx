import { useState, type FormEvent } from "react";
import { errorMessage } from "../api/errors";
import { templates } from "../api/resources";
import type { AgentTemplate } from "../api/types";
import { Dialog } from "../components/Dialog";
import { ErrorBanner } from "../components/ErrorBanner";
import { McpServersField, mcpServerProblems } from "../editor/forms/McpServersField";

/** Creates a template, or edits one (`template` with an id). */
export function TemplateDialog({ template, onClose, onSaved }: { template: AgentTemplate | null; onClose: () => void; onSaved: () => Promise<void> }) {
  const [name, setName] = useState(template?.name ?? "");
  const [role, setRole] = useState(template?.role ?? "");
  const [model, setModel] = useState(template?.model ?? "test:echo");
  const [systemPrompt, setSystemPrompt] = useState(template?.system_prompt ?? "");
  // The MCP servers live in the parameters (`mcp_servers`) but get a field of their own.
  const { mcp_servers: savedServers, ...otherParameters } = template?.parameters ?? {};
  const [parameters, setParameters] = useState(template?.parameters ? JSON.stringify(otherParameters, null, 2) : "{}");
  const [mcpServers, setMcpServers] = useState<unknown>(savedServers);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const editingExisting = Boolean(template?.id);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let params: Record<string, unknown>;
    try {
      params = parameters.trim() ? JSON.parse(parameters) : {};
      if (typeof params !== "object" || params === null || Array.isArray(params)) throw new Error("must be an object");
    } catch (err) {
      setError(new Error(`Parameters: not a JSON object (${errorMessage(err)}).`));
      return;
    }
    const serverProblems = mcpServerProblems(mcpServers);
    if (serverProblems.length) {
      setError(new Error(`MCP servers: ${serverProblems.join("; ")}.`));
      return;
    }
    if (mcpServers !== undefined) params = { ...params, mcp_servers: mcpServers };
    const body = { name, role, model, system_prompt: systemPrompt || null, parameters: params };
    setBusy(true);
    setError(null);
    try {
      if (editingExisting && template) await templates.update(template.id, body);
      else await templates.create(body);
      await onSaved();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <Dialog title={editingExisting ? "Edit template" : "New template"} onClose={onClose} wide>
      <form className="stack" onSubmit={submit}>
        <ErrorBanner error={error} />
        <div className="row" style={{ alignItems: "stretch" }}>
          <label className="field" style={{ flex: 1 }}>
            Name
            <input required value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <label className="field" style={{ flex: 1 }}>
            Role
            <input required value={role} onChange={(e) => setRole(e.target.value)} placeholder="researcher" />
          </label>
        </div>
        <label className="field">
          Model
          <span className="hint">provider:model, e.g. openai:gpt-4o, anthropic:claude-sonnet-4-5, ollama:llama3.2, test:echo</span>
          <input required value={model} onChange={(e) => setModel(e.target.value)} />
        </label>
        <label className="field">
          System prompt
          <textarea rows={5} value={systemPrompt} onChange={(e) => setSystemPrompt(e.target.value)} />
        </label>
        <label className="field">
          Parameters
          <span className="hint">JSON object: temperature, max_tokens, output_schema…</span>
          <textarea rows={4} value={parameters} onChange={(e) => setParameters(e.target.value)} />
        </label>
        <McpServersField value={mcpServers} onChange={setMcpServers} />
        <div className="row" style={{ justifyContent: "flex-end" }}>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button className="primary" type="submit" disabled={busy}>
            {editingExisting ? "Save" : "Create"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
