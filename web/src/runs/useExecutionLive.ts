import { useCallback, useEffect, useRef, useState } from "react";
import { executions } from "../api/resources";
import { followEvents } from "../api/sse";
import { isFinalStatus, type Execution, type NodeRun } from "../api/types";
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
  const [execution, setExecution] = useState<Execution | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [statuses, setStatuses] = useState<Map<string, LiveStatus>>(new Map());
  const [deltas, setDeltas] = useState<Map<string, string>>(new Map());
  const [error, setError] = useState<unknown>(null);
  const [streamBroken, setStreamBroken] = useState(false);
  const nodeIdsRef = useRef(nodeIds);
  nodeIdsRef.current = nodeIds;
  const refetchTimer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const refresh = useCallback(async () => {
    if (!executionId) return;
    try {
      const detail = await executions.get(executionId);
      setExecution(detail);
      setStatus(detail.status);
      setStatuses(statusesFromRuns(nodeIdsRef.current, nodeRunsOf(detail), detail.status));
    } catch (err) {
      setError(err);
    }
  }, [executionId]);

  useEffect(() => {
    setExecution(null);
    setStatus(null);
    setDeltas(new Map());
    setError(null);
    setStreamBroken(false);
    setStatuses(new Map(nodeIdsRef.current.map((id) => [id, "pending" as LiveStatus])));
    if (!executionId) return;
    let stopped = false;
    const scheduleRefresh = () => {
      if (refetchTimer.current) clearTimeout(refetchTimer.current);
      refetchTimer.current = setTimeout(() => void refresh(), 250);
    };
    void refresh();
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

  return { execution, status, statuses, runs: nodeRunsOf(execution), deltas, error, refresh };
}
