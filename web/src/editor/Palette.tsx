import { NODE_KINDS } from "./nodeKinds";

export const DRAG_TYPE = "application/x-relayflow-node";

/** Every node kind: drag one onto the canvas, or press Enter to add it in view. */
export function Palette({ onAdd }: { onAdd: (kind: string) => void }) {
  return (
    <aside className="palette" aria-label="Node palette">
      <h2>Add a node</h2>
      {NODE_KINDS.map((info) => (
        <button
          key={info.kind}
          className="palette-item"
          draggable
          title={info.description}
          aria-label={`Add ${info.label} node`}
          data-kind={info.kind}
          onDragStart={(e) => {
            e.dataTransfer.setData(DRAG_TYPE, info.kind);
            e.dataTransfer.effectAllowed = "move";
          }}
          onClick={() => onAdd(info.kind)}
        >
          {/* Drawn by CSS: a glyph such as "ƒ" in the text would read as part of the
              visible label, which the accessible name "Add … node" must contain. */}
          <span className="icon" aria-hidden data-icon={info.icon} />
          {info.label}
        </button>
      ))}
      <p className="muted small" style={{ marginTop: "auto" }}>
        Drag from a node's right edge to another node to connect them. Select and press Delete to remove.
      </p>
    </aside>
  );
}
