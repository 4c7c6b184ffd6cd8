// The "MCP servers" an agent may call tools on: a JSON list edited as text, with the
// server's rules checked as you type (the server checks them again at save).
import { isRecord } from "../../api/errors";
import { JsonField } from "./fields";

export const MCP_SERVERS_HINT =
  'a list of {"name", "url": "https://…/mcp"} (optional "credential_id" of an HTTP auth credential) or ' +
  '{"name", "stdio": "<a name your admin listed>"}; "tools": ["…"] keeps only those tools';

/** What is wrong with a value of `mcp_servers`, one message per problem. */
export function mcpServerProblems(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return ["must be a list of servers"];
  const problems: string[] = [];
  const names = new Set<string>();
  value.forEach((server, index) => {
    const where = `server ${index + 1}`;
    if (!isRecord(server)) {
      problems.push(`${where}: must be an object`);
      return;
    }
    if (typeof server.name !== "string" || !/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/.test(server.name)) {
      problems.push(`${where}: "name" must be letters, digits, _ or - (starting with a letter)`);
    } else if (names.has(server.name)) {
      problems.push(`${where}: another server is named "${server.name}"`);
    } else {
      names.add(server.name);
    }
    const hasUrl = server.url !== undefined;
    const hasStdio = server.stdio !== undefined;
    if (hasUrl === hasStdio) problems.push(`${where}: give exactly one of "url" or "stdio"`);
    if (hasUrl && (typeof server.url !== "string" || !/^https?:\/\/./i.test(server.url))) {
      problems.push(`${where}: "url" must start with http:// or https://`);
    }
    if (server.tools !== undefined && !(Array.isArray(server.tools) && server.tools.every((t) => typeof t === "string" && t))) {
      problems.push(`${where}: "tools" must be a list of tool names`);
    }
  });
  return problems;
}

export function McpServersField({ value, onChange }: { value: unknown; onChange: (value: unknown) => void }) {
  const problems = mcpServerProblems(value);
  return (
    <>
      <JsonField label="MCP servers" hint={MCP_SERVERS_HINT} value={value} onChange={onChange} />
      {problems.length > 0 ? (
        <span className="field-error" role="alert">
          {problems.join("; ")}
        </span>
      ) : null}
    </>
  );
}
