// What each kind of credential asks for (mirrors relayflow.credential_kinds).
import type { CredentialKind } from "../api/types";

export type SettingName = "base_url" | "username" | "header" | "param";

export interface KindInfo {
  label: string;
  settings: { name: SettingName; label: string; required: boolean }[];
  /** What the secret value is called; null: the kind has none it needs. */
  value: string | null;
  valueRequired: boolean;
  group: "provider" | "http" | "secret";
}

export const KINDS: Record<CredentialKind, KindInfo> = {
  openai: { label: "OpenAI", settings: [{ name: "base_url", label: "Base URL (optional)", required: false }], value: "API key", valueRequired: true, group: "provider" },
  anthropic: { label: "Anthropic", settings: [{ name: "base_url", label: "Base URL (optional)", required: false }], value: "API key", valueRequired: true, group: "provider" },
  openai_compatible: { label: "OpenAI-compatible server", settings: [{ name: "base_url", label: "Base URL", required: true }], value: "API key", valueRequired: false, group: "provider" },
  ollama: { label: "Ollama", settings: [{ name: "base_url", label: "Base URL", required: true }], value: null, valueRequired: false, group: "provider" },
  http_bearer: { label: "HTTP bearer token", settings: [], value: "Token", valueRequired: true, group: "http" },
  http_basic: { label: "HTTP basic auth", settings: [{ name: "username", label: "User name", required: true }], value: "Password", valueRequired: true, group: "http" },
  http_header: { label: "HTTP custom header", settings: [{ name: "header", label: "Header name", required: true }], value: "Header value", valueRequired: true, group: "http" },
  http_query: { label: "HTTP query key", settings: [{ name: "param", label: "Query parameter", required: true }], value: "Key", valueRequired: true, group: "http" },
  secret: { label: "Generic secret ({{ secrets.NAME }})", settings: [], value: "Secret", valueRequired: true, group: "secret" },
};

export const KIND_NAMES = Object.keys(KINDS) as CredentialKind[];
