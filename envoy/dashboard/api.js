// The REST API at the same origin (Envoy's gRPC-JSON transcoder): fetch with the signed-in user's token.
const MEANING = {
  400: "Not accepted",
  401: "Sign in again",
  403: "Not allowed",
  404: "Not found",
  409: "Room taken",
  429: "Limit reached",
  503: "Unavailable",
};

export class ApiError extends Error {
  constructor(status, body) {
    const said = (body && body.message) || `HTTP ${status}`;
    super(`${status} ${MEANING[status] || "Error"}: ${said}`);
    this.status = status;
    this.said = said;
  }
}

let token = "";
export const setToken = (value) => { token = value; };

export async function api(method, path, body) {
  const headers = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) {
    headers["content-type"] = "application/json";
    headers["idempotency-key"] = crypto.randomUUID(); // a retried write replays its first answer
  }
  const reply = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await reply.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : {}; } catch { parsed = { message: text }; }
  if (!reply.ok) throw new ApiError(reply.status, parsed);
  return parsed;
}

export const query = (params) => new URLSearchParams(Object.entries(params).filter(([, v]) => v)).toString();
