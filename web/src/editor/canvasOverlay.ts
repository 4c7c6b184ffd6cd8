// What the canvas draws on top of the graph: problems from the API and live run states.
import { createContext, useContext } from "react";

export type LiveStatus = "pending" | "running" | "finished" | "failed" | "skipped" | "waiting" | "cancelled" | "retrying";

export interface CanvasOverlay {
  problems: Map<string, string[]>;
  statuses: Map<string, LiveStatus>;
}

export const CanvasOverlayContext = createContext<CanvasOverlay>({ problems: new Map(), statuses: new Map() });

export function useCanvasOverlay(): CanvasOverlay {
  return useContext(CanvasOverlayContext);
}
