// The template calls only this page makes: copying, where a template is used, and the
// guarded delete (refused with 409 while workflows use it, unless forced).
import { api, call } from "../api/client";
import type { AgentTemplate, ResponseOf } from "../api/types";

export type TemplateUsage = ResponseOf<"/api/v1/agent-templates/{template_id}/usage", "get">;

const path = (id: string) => ({ path: { template_id: id } });

export const templateActions = {
  /** A copy as the caller's own template, named "<name> (copy)" or "(copy 2)"... */
  copy: (id: string): Promise<AgentTemplate> =>
    call(api.POST("/api/v1/agent-templates/{template_id}/copy", { params: path(id) })),
  usage: (id: string): Promise<TemplateUsage> =>
    call(api.GET("/api/v1/agent-templates/{template_id}/usage", { params: path(id) })),
  remove: (id: string, force: boolean) =>
    call(
      api.DELETE("/api/v1/agent-templates/{template_id}", {
        params: { ...path(id), query: { force } },
      }),
    ),
};

export function usedByLabel(count: number): string {
  if (count === 0) return "not used";
  return `used by ${count} workflow${count === 1 ? "" : "s"}`;
}
