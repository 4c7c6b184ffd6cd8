// The editor's keyboard shortcuts. Ctrl/⌘+S saves from anywhere, even while typing in a
// field. Ctrl/⌘+Z undoes and Ctrl/⌘+Shift+Z or Ctrl/⌘+Y redoes the graph, except in a text
// field or list, which keeps its own undo.
import { useEffect, useRef } from "react";

export interface EditorShortcuts {
  save: () => void;
  undo: () => void;
  redo: () => void;
}

function isFormField(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName);
}

export function useEditorShortcuts(shortcuts: EditorShortcuts): void {
  // One listener for the editor's lifetime, calling whatever the latest render passed.
  const latest = useRef(shortcuts);
  useEffect(() => {
    latest.current = shortcuts;
  });

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!e.ctrlKey && !e.metaKey) return;
      const key = e.key.toLowerCase();
      if (key === "s") {
        e.preventDefault();
        latest.current.save();
        return;
      }
      if (isFormField(e.target)) return;
      if (key === "z" && !e.shiftKey) {
        e.preventDefault();
        latest.current.undo();
      } else if ((key === "z" && e.shiftKey) || key === "y") {
        e.preventDefault();
        latest.current.redo();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}
