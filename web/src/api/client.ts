// The typed API client: openapi-fetch over the types generated from relayflow's OpenAPI
// document (schema.d.ts, written by scripts/gen_api_client). Nothing here is hand-typed
// per endpoint: paths, parameters and bodies are checked against the generated schema.
import createClient, { type Middleware } from "openapi-fetch";
import { ApiError } from "./errors";
import type { paths } from "./schema";
import { getToken, sessionExpired } from "./session";

const auth: Middleware = {
  onRequest({ request }) {
    const token = getToken();
    if (token && !request.headers.has("Authorization")) {
      request.headers.set("Authorization", `Bearer ${token}`);
    }
    return request;
  },
  onResponse({ response, request }) {
    // A 401 on a signed-in call means the token expired: send the user to sign in.
    if (response.status === 401 && request.headers.has("Authorization")) sessionExpired();
    return response;
  },
};

function origin(): string {
  return typeof window !== "undefined" ? window.location.origin : "http://localhost";
}

export const api = createClient<paths>({ baseUrl: origin() });
api.use(auth);

interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** Awaits an openapi-fetch call and returns its data, or throws an ApiError. */
export async function call<T>(request: Promise<FetchResult<T>>): Promise<T> {
  let result: FetchResult<T>;
  try {
    result = await request;
  } catch (cause) {
    throw ApiError.network(cause);
  }
  if (!result.response.ok) throw ApiError.fromBody(result.response.status, result.error);
  // On success `data` is missing only for an answer without a body (204), whose type in the
  // schema has no body either.
  return result.data as T;
}
