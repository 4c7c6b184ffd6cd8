// Saving and checking the graph in the editor. The API's problems are sorted onto the nodes
// and edges they name (the canvas marks them, the problems panel lists them in full); the
// banner then only counts those.
import { useState } from "react";
import { ApiError, graphProblems, type GraphProblems } from "../api/errors";
import { workflows } from "../api/resources";
import type { Graph, Workflow } from "../api/types";

export const NO_PROBLEMS: GraphProblems = { byNode: new Map(), byEdge: new Map(), general: [] };

/** When the problems are listed in the panel below the banner, the banner only counts them. */
function summarizeGraphError(err: unknown, found: GraphProblems): unknown {
  const onGraph = [...found.byNode.values(), ...found.byEdge.values()].reduce((n, list) => n + list.length, 0);
  if (!onGraph || !(err instanceof ApiError)) return err;
  const what = onGraph === 1 ? "1 problem, listed below" : `${onGraph} problems, listed below`;
  return new ApiError(err.status, err.code, `The workflow is not valid: ${what}.`, found.general);
}

/** Sorts problems onto the nodes and edges of the graph they were found in. */
function problemsIn(graph: Graph, problems: unknown): GraphProblems {
  return graphProblems(
    problems,
    graph.nodes.map((n) => n.id),
    graph.edges.map((e) => e.id),
  );
}

interface Options {
  workflowId: string;
  readOnly: boolean;
  /** The graph as it is on the canvas now. */
  graph: () => Graph;
  /** The server stored `sent` and answered with the workflow as it now is. */
  onSaved: (saved: Workflow, sent: Graph) => void;
}

export interface SaveAndCheck {
  saving: boolean;
  problems: GraphProblems;
  /** What went wrong last (a save, a check, or whatever else the editor reported). */
  error: unknown;
  /** A passing remark: saved, no problems, a connection refused. */
  notice: string | null;
  /** Resolves to whether the workflow was saved. */
  save: () => Promise<boolean>;
  check: () => Promise<void>;
  showNotice: (notice: string) => void;
  showError: (error: unknown) => void;
}

export function useSaveAndCheck({ workflowId, readOnly, graph, onSaved }: Options): SaveAndCheck {
  const [saving, setSaving] = useState(false);
  const [problems, setProblems] = useState(NO_PROBLEMS);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const save = async (): Promise<boolean> => {
    if (readOnly) return false;
    const sent = graph();
    setSaving(true);
    setError(null);
    setNotice(null);
    try {
      const saved = await workflows.update(workflowId, sent);
      setProblems(NO_PROBLEMS);
      onSaved(saved, sent);
      setNotice("Saved");
      return true;
    } catch (err) {
      const found = problemsIn(sent, err);
      setProblems(found);
      setError(summarizeGraphError(err, found));
      return false;
    } finally {
      setSaving(false);
    }
  };

  const check = async () => {
    const sent = graph();
    setError(null);
    setNotice(null);
    try {
      const answer = await workflows.validate(sent);
      const found = problemsIn(sent, answer.problems);
      setProblems(found);
      if (!found.byNode.size && !found.byEdge.size && !found.general.length) setNotice("No problems found");
    } catch (err) {
      const found = problemsIn(sent, err);
      setProblems(found);
      setError(summarizeGraphError(err, found));
    }
  };

  return { saving, problems, error, notice, save, check, showNotice: setNotice, showError: setError };
}
