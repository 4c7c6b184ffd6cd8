import { useEffect, useRef, useState } from "react";
import { executions } from "../api/resources";
import { followEvents } from "../api/sse";
import { isFinalStatus, type Execution, type NodeRun } from "../api/types";
import { useLoad } from "../api/useLoad";
import type { LiveStatus } from "../editor/canvasOverlay";
import { applyEvent, eventNodeId, nodeRunsOf, statusesFromRuns } from "./liveStatus";

export interface LiveExecution {
  execution: Execution | null;
  status: string | null;
  statuses: Map<string, LiveStatus>;
  runs: NodeRun[];
  /** Streamed agent text per node, while it runs. */
  deltas: Map<string, string>;
  error: unknown;
  refresh: () => Promise<void>;
}

/** Follows one execution: its detail from the API, kept current by its event stream. */
export function useExecutionLive(executionId: string | null, nodeIds: string[]): LiveExecution {
  const detail = useLoad(() => (executionId ? executions.get(executionId) : Promise.resolve(null)), [executionId]);
  const execution = detail.data ?? null;
  const refresh = detail.reload;
  const [status, setStatus] = useState<string | null>(null);
  const [statuses, setStatuses] = useState<Map<string, LiveStatus>>(new Map());
  const [deltas, setDeltas] = useState<Map<string, string>>(new Map());
  const [streamBroken, setStreamBroken] = useState(false);
  const nodeIdsRef = useRef(nodeIds);
  nodeIdsRef.current = nodeIds;
  const refetchTimer = useRef<ReturnType<typeof setTimeout> | null>(null);

  // Each fresh detail sets every node's status from its runs; events move them on from there.
  useEffect(() => {
    if (!execution) return;
    setStatus(execution.status);
    setStatuses(statusesFromRuns(nodeIdsRef.current, nodeRunsOf(execution), execution.status));
  }, [execution]);

  useEffect(() => {
    setStatus(null);
    setDeltas(new Map());
    setStreamBroken(false);
    setStatuses(new Map(nodeIdsRef.current.map((id): [string, LiveStatus] => [id, "pending"])));
    if (!executionId) return;
    let stopped = false;
    const scheduleRefresh = () => {
      if (refetchTimer.current) clearTimeout(refetchTimer.current);
      refetchTimer.current = setTimeout(() => void refresh(), 250);
    };
    const stream = followEvents(`/api/v1/executions/${executionId}/events`, {
      onEvent: (event) => {
        if (stopped) return;
        setStreamBroken(false);
        if (event.kind === "execution.status") {
          const next = typeof event.payload.status === "string" ? event.payload.status : null;
          if (next) setStatus(next);
          scheduleRefresh();
          return;
        }
        if (event.kind === "agent.delta") {
          const nodeId = eventNodeId(event);
          const text = event.payload.delta ?? event.payload.text ?? event.payload.content;
          if (nodeId && typeof text === "string") {
            setDeltas((prev) => new Map(prev).set(nodeId, (prev.get(nodeId) ?? "") + text));
          }
          return;
        }
        setStatuses((prev) => applyEvent(prev, event));
        if (event.kind !== "node.started") scheduleRefresh();
      },
      onError: () => {
        if (!stopped) setStreamBroken(true);
      },
      onEnd: () => {
        if (!stopped) void refresh();
      },
    });
    return () => {
      stopped = true;
      stream.close();
      if (refetchTimer.current) clearTimeout(refetchTimer.current);
    };
  }, [executionId, refresh]);

  // While the stream is down (it retries on its own), poll so the view does not go stale.
  useEffect(() => {
    if (!executionId || !streamBroken || !status || isFinalStatus(status)) return;
    const timer = setInterval(() => void refresh(), 5000);
    return () => clearInterval(timer);
  }, [executionId, streamBroken, status, refresh]);

  return { execution, status, statuses, runs: nodeRunsOf(execution), deltas, error: detail.error, refresh };
}
