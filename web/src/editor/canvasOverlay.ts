// What the canvas draws on top of the graph: problems from the API, live run states,
// and how nodes changed between two versions.
import { createContext, useContext } from "react";

export type LiveStatus = "pending" | "running" | "finished" | "failed" | "skipped" | "waiting" | "cancelled" | "retrying";

export interface CanvasOverlay {
  problems: Map<string, string[]>;
  statuses: Map<string, LiveStatus>;
  /** While two versions are compared: how each node changed (see versionDiff.ts). */
  diff?: Map<string, "added" | "removed" | "changed">;
}

export const CanvasOverlayContext = createContext<CanvasOverlay>({
  problems: new Map(),
  statuses: new Map(),
  diff: new Map(),
});

export function useCanvasOverlay(): CanvasOverlay {
  return useContext(CanvasOverlayContext);
}
