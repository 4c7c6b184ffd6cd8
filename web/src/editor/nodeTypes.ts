import type { NodeTypes } from "@xyflow/react";
import { FlowNode } from "./FlowNode";
import { NODE_KINDS } from "./nodeKinds";

/** Every kind is drawn by the same component, which reads the kind from the node. */
export const nodeTypes: NodeTypes = Object.fromEntries(NODE_KINDS.map((info) => [info.kind, FlowNode]));
