// The side panel's form for the selected node's `data`, one form per node kind.
import { isRecord } from "../../api/errors";
import type { AgentTemplate, Credential } from "../../api/types";
import { kindInfo } from "../nodeKinds";
import { JsonField, NumberField, SelectField, TextField } from "./fields";
import { McpServersField } from "./McpServersField";

export type NodeData = Record<string, unknown>;

export interface NodeFormProps {
  kind: string;
  data: NodeData;
  /** `field` names what changed, so typing in one field is one undo step. */
  onChange: (data: NodeData, field: string) => void;
  templates: AgentTemplate[];
  workflows: { id: string; name: string }[];
  /** The credentials the user may pick (their own and shared ones). */
  credentials?: Credential[];
  readOnly?: boolean;
}

const PROVIDER_KINDS = ["openai", "anthropic", "openai_compatible", "ollama"];
const HTTP_KINDS = ["http_bearer", "http_basic", "http_header", "http_query"];

/** A credential picker: only the kinds that suit the field; the value is the credential's id. */
function CredentialSelect(props: {
  label: string;
  hint: string;
  kinds: string[];
  credentials: Credential[];
  value: string;
  onChange: (value: unknown) => void;
}) {
  const options = props.credentials.filter((c) => props.kinds.includes(c.kind));
  const known = options.some((c) => c.id === props.value);
  return (
    <label className="field">
      {props.label}
      <span className="hint">{props.hint}</span>
      <select value={props.value} onChange={(e) => props.onChange(e.target.value)}>
        <option value="">— none —</option>
        {options.map((c) => (
          <option key={c.id} value={c.id}>
            {c.name}
            {c.shared ? " (shared)" : ""}
          </option>
        ))}
        {props.value && !known ? <option value={props.value}>{props.value} (not yours)</option> : null}
      </select>
    </label>
  );
}

const str = (v: unknown) => (typeof v === "string" ? v : "");
const num = (v: unknown) => (typeof v === "number" ? v : undefined);

/** Returns data with `key` set, or removed when the value is empty. */
export function withField(data: NodeData, key: string, value: unknown): NodeData {
  const next = { ...data };
  if (value === undefined || value === "" || value === null) delete next[key];
  else next[key] = value;
  return next;
}

export function NodeForm(props: NodeFormProps) {
  const { kind, data, onChange } = props;
  const set = (key: string) => (value: unknown) => onChange(withField(data, key, value), key);
  const info = kindInfo(kind);
  return (
    <fieldset disabled={props.readOnly} style={{ border: "none", padding: 0 }} className="stack">
      <legend className="sr-only">{info?.label ?? kind} settings</legend>
      <TextField label="Label" hint="shown on the canvas" value={str(data.label)} onChange={set("label")} placeholder={info?.label} />
      <KindFields {...props} set={set} />
      <details>
        <summary className="small muted">Retries and timeout</summary>
        <div className="stack" style={{ marginTop: 8 }}>
          <NumberField label="Retries" min={0} value={num(data.retries)} onChange={set("retries")} placeholder="0" />
          <NumberField label="Timeout (seconds)" min={0} step={0.5} value={num(data.timeout_s)} onChange={set("timeout_s")} />
        </div>
      </details>
    </fieldset>
  );
}

function KindFields(props: NodeFormProps & { set: (key: string) => (value: unknown) => void }) {
  const { kind, data, set } = props;
  switch (kind) {
    case "input":
      return (
        <JsonField
          label="Input schema"
          hint="JSON Schema the input must match; the Run dialog builds its form from it"
          value={data.schema}
          onChange={set("schema")}
          placeholder='{"type": "object", "properties": {"topic": {"type": "string"}}}'
        />
      );
    case "agent":
      return <AgentFields {...props} />;
    case "http":
      return (
        <>
          <SelectField
            label="Method"
            value={str(data.method) || "GET"}
            onChange={set("method")}
            options={["GET", "POST", "PUT", "PATCH", "DELETE"].map((m) => [m, m])}
          />
          <TextField label="URL" hint="a template: {{ input.id }} works" value={str(data.url)} onChange={set("url")} />
          <CredentialSelect
            label="Authentication"
            hint="an HTTP auth credential from your account"
            kinds={HTTP_KINDS}
            credentials={props.credentials ?? []}
            value={str(data.credential_id)}
            onChange={set("credential_id")}
          />
          <JsonField label="Headers" hint='an object, e.g. {"Accept": "application/json"}' value={data.headers} onChange={set("headers")} />
          <TextField label="Body" hint="a template; JSON when it renders to an object" multiline value={str(data.body)} onChange={set("body")} />
        </>
      );
    case "condition":
      return <ConditionFields {...props} />;
    case "transform":
      return <TextField label="Value" hint="a template or {{ expression }}" multiline value={str(data.value)} onChange={set("value")} />;
    case "merge":
      return (
        <SelectField
          label="Mode"
          value={str(data.mode) || "all"}
          onChange={set("mode")}
          options={[
            ["all", "all: wait for every active branch"],
            ["any", "any: go on with the first branch"],
          ]}
        />
      );
    case "map":
      return <MapFields {...props} />;
    case "subworkflow":
      return (
        <>
          <WorkflowSelect {...props} value={str(data.workflow_id)} onChange={set("workflow_id")} />
          <TextField label="Input" hint="a template for the sub-workflow's input" multiline value={str(data.input)} onChange={set("input")} />
        </>
      );
    case "approval":
      return <TextField label="Message" hint="shown to the person who approves" multiline value={str(data.message)} onChange={set("message")} />;
    case "output":
      return <TextField label="Value" hint="the execution's output: a template or {{ expression }}" multiline value={str(data.value)} onChange={set("value")} />;
    default:
      return <p className="muted">Unknown node kind “{kind}”.</p>;
  }
}

function AgentFields({ data, set, templates, credentials }: NodeFormProps & { set: (key: string) => (value: unknown) => void }) {
  const template = templates.find((t) => t.id === data.template_id);
  const parameters = isRecord(data.parameters) ? data.parameters : {};
  return (
    <>
      <label className="field">
        Agent template
        <span className="hint">the defaults; the fields below override them</span>
        <select value={str(data.template_id)} onChange={(e) => set("template_id")(e.target.value)}>
          <option value="">— none —</option>
          {templates.map((t) => (
            <option key={t.id} value={t.id}>
              {t.name}
              {t.is_system ? " (system)" : ""}
            </option>
          ))}
        </select>
      </label>
      <TextField label="Prompt" hint="a template over input and upstream nodes" multiline value={str(data.prompt)} onChange={set("prompt")} />
      <TextField
        label="Model"
        hint="provider:model, e.g. openai:gpt-4o"
        value={str(data.model)}
        onChange={set("model")}
        placeholder={template ? `from the template: ${template.model}` : "none: set one or pick a template"}
      />
      <CredentialSelect
        label="Credential"
        hint="the provider key to use (else the template's, else the server's)"
        kinds={PROVIDER_KINDS}
        credentials={credentials ?? []}
        value={str(data.credential_id)}
        onChange={set("credential_id")}
      />
      <TextField
        label="System prompt"
        multiline
        value={str(data.system_prompt)}
        onChange={set("system_prompt")}
        placeholder={template?.system_prompt ?? ""}
      />
      <NumberField
        label="Temperature"
        min={0}
        step={0.1}
        value={num(parameters.temperature)}
        onChange={(v) => set("parameters")(nonEmpty(withField(parameters, "temperature", v)))}
        placeholder={String(template?.parameters?.temperature ?? "")}
      />
      <JsonField label="Parameters" hint="other model settings, as an object" value={data.parameters} onChange={set("parameters")} />
      <JsonField label="Output schema" hint="JSON Schema: the agent answers with matching JSON" value={data.output_schema} onChange={set("output_schema")} />
      <label className="field">
        Delegates
        <span className="hint">templates this agent may hand work to</span>
        <select
          multiple
          value={Array.isArray(data.delegates) ? (data.delegates as string[]) : []}
          onChange={(e) => set("delegates")(nonEmptyList(Array.from(e.target.selectedOptions, (o) => o.value)))}
        >
          {templates.map((t) => (
            <option key={t.id} value={t.id}>
              {t.name}
            </option>
          ))}
        </select>
      </label>
      <JsonField label="Tools" hint="HTTP tools: a list of {name, description, method, url}" value={data.tools} onChange={set("tools")} />
      <McpServersField value={data.mcp_servers} onChange={set("mcp_servers")} />
    </>
  );
}

interface Case {
  handle: string;
  when: string;
}

function ConditionFields({ data, onChange }: NodeFormProps) {
  const cases: Case[] = Array.isArray(data.cases)
    ? data.cases.map((c: unknown) => (isRecord(c) ? { handle: str(c.handle), when: str(c.when) } : { handle: "", when: "" }))
    : [];
  const update = (next: Case[], field: string) => onChange({ ...data, cases: next }, field);
  const freeHandle = () => {
    let n = cases.length + 1;
    while (cases.some((c) => c.handle === `case_${n}`)) n += 1;
    return `case_${n}`;
  };
  return (
    <fieldset>
      <legend>Cases</legend>
      <p className="muted small" style={{ marginTop: 0 }}>
        The first case whose expression is true picks its handle; edges from the other handles are skipped.
      </p>
      <div className="stack">
        {cases.map((c, i) => (
          <div key={i} className="case-row">
            <input
              aria-label={`Case ${i + 1} handle`}
              value={c.handle}
              onChange={(e) => update(cases.map((x, j) => (j === i ? { ...x, handle: e.target.value } : x)), `cases.${i}.handle`)}
            />
            <input
              aria-label={`Case ${i + 1} expression`}
              className="mono"
              value={c.when}
              placeholder="input.score > 5"
              onChange={(e) => update(cases.map((x, j) => (j === i ? { ...x, when: e.target.value } : x)), `cases.${i}.when`)}
            />
            <button type="button" className="small ghost" aria-label={`Remove case ${i + 1}`} onClick={() => update(cases.filter((_, j) => j !== i), "cases")}>
              ✕
            </button>
          </div>
        ))}
        <div>
          <button type="button" className="small" onClick={() => update([...cases, { handle: freeHandle(), when: "" }], "cases")}>
            Add case
          </button>
        </div>
        <TextField
          label="Default handle"
          hint="taken when no case matches; leave empty to take none"
          value={str(data.default)}
          onChange={(v) => onChange(withField(data, "default", v), "default")}
        />
      </div>
    </fieldset>
  );
}

function MapFields(props: NodeFormProps & { set: (key: string) => (value: unknown) => void }) {
  const { data, set, templates, onChange } = props;
  const usesWorkflow = typeof data.workflow_id === "string";
  return (
    <>
      <TextField label="Items" hint="an expression giving a list, e.g. {{ input.items }}" value={str(data.items)} onChange={set("items")} />
      <SelectField
        label="Run for each item"
        value={usesWorkflow ? "workflow" : "agent"}
        onChange={(v) => {
          const next = { ...data };
          delete next.workflow_id;
          delete next.template_id;
          if (v === "workflow") next.workflow_id = "";
          onChange(next, "map.target");
        }}
        options={[
          ["agent", "an agent template"],
          ["workflow", "a workflow"],
        ]}
      />
      {usesWorkflow ? (
        <WorkflowSelect {...props} value={str(data.workflow_id)} onChange={(v) => onChange({ ...data, workflow_id: v }, "workflow_id")} />
      ) : (
        <>
          <SelectField
            label="Agent template"
            value={str(data.template_id)}
            onChange={set("template_id")}
            options={[["", "— choose —"], ...templates.map((t): [string, string] => [t.id, t.name])]}
          />
          <TextField label="Prompt" hint="a template; {{ item }} is the current item" multiline value={str(data.prompt)} onChange={set("prompt")} />
        </>
      )}
      <NumberField label="Concurrency" min={1} value={num(data.concurrency)} onChange={set("concurrency")} />
    </>
  );
}

function WorkflowSelect({ workflows, value, onChange }: NodeFormProps & { value: string; onChange: (v: string) => void }) {
  return (
    <SelectField
      label="Workflow"
      value={value}
      onChange={onChange}
      options={[["", "— choose —"], ...workflows.map((w): [string, string] => [w.id, w.name])]}
    />
  );
}

function nonEmpty(value: Record<string, unknown>): Record<string, unknown> | undefined {
  return Object.keys(value).length ? value : undefined;
}

function nonEmptyList(value: string[]): string[] | undefined {
  return value.length ? value : undefined;
}
