import { Handle, Position, type NodeProps } from "@xyflow/react";
import { memo } from "react";
import { useCanvasOverlay } from "./canvasOverlay";
import type { FlowNode as FlowNodeType } from "./editorState";
import { kindInfo, sourceHandles } from "./nodeKinds";

function summary(kind: string, data: Record<string, unknown>): string {
  const pick = (key: string) => (typeof data[key] === "string" ? (data[key] as string) : "");
  switch (kind) {
    case "agent":
      return pick("model") || pick("prompt");
    case "http":
      return `${pick("method") || "GET"} ${pick("url")}`;
    case "transform":
    case "output":
      return pick("value");
    case "merge":
      return `wait for ${pick("mode") || "all"}`;
    case "approval":
      return pick("message");
    case "map":
      return pick("items");
    default:
      return "";
  }
}

const STATUS_TEXT: Record<string, string> = {
  pending: "pending",
  running: "running…",
  retrying: "retrying…",
  finished: "finished",
  failed: "failed",
  skipped: "skipped",
  waiting: "waiting for approval",
  cancelled: "cancelled",
};

function FlowNodeView({ id, type, data, selected }: NodeProps<FlowNodeType>) {
  const { problems, statuses, diff } = useCanvasOverlay();
  const change = diff?.get(id);
  const kind = type ?? "";
  const info = kindInfo(kind);
  const nodeProblems = problems.get(id) ?? [];
  const status = statuses.get(id);
  const handles = sourceHandles(kind, data);
  const label = typeof data.label === "string" && data.label ? data.label : info?.label ?? kind;
  const classes = [
    "flow-node",
    selected ? "selected" : "",
    nodeProblems.length ? "has-problems" : "",
    status ? `st-${status === "retrying" ? "running" : status}` : "",
    change ? `diff-${change}` : "",
  ];
  const text = summary(kind, data);
  return (
    <div className={classes.join(" ")} data-testid={`node-${id}`} data-status={status ?? ""} data-diff={change ?? ""} title={info?.description}>
      {info?.hasInput !== false ? <Handle type="target" position={Position.Left} /> : null}
      <div className="head">
        <span className="icon" aria-hidden>
          {info?.icon ?? "?"}
        </span>
        <div style={{ minWidth: 0 }}>
          <div className="name">{label}</div>
          <div className="kind">
            {info?.label ?? kind} · {id}
          </div>
        </div>
      </div>
      {change ? <div className={`diff-tag diff-${change}`}>{change}</div> : null}
      {text ? <div className="summary">{text}</div> : null}
      {status ? <div className="live">● {STATUS_TEXT[status] ?? status}</div> : null}
      {nodeProblems.length ? (
        <div className="problems" role="alert">
          <ul>
            {nodeProblems.map((p, i) => (
              <li key={i} title={p}>
                {p}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      {handles.map((h, i) => {
        const top = handles.length === 1 ? "50%" : `${((i + 1) * 100) / (handles.length + 1)}%`;
        return (
          <div key={h.id ?? "default"}>
            <Handle type="source" position={Position.Right} id={h.id ?? undefined} style={{ top }} />
            {h.label ? (
              <span className="handle-label" style={{ top, right: -8 }}>
                {h.label}
              </span>
            ) : null}
          </div>
        );
      })}
    </div>
  );
}

export const FlowNode = memo(FlowNodeView);
