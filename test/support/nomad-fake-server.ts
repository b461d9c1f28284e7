// Runs the Nomad ACL fake as its own process, for the Go conformance host:
// prints one JSON line {"url", "managementToken", "controlUrl"} on stdout,
// serves until stdin closes or SIGTERM. Run with the pinned Node 24 (type
// stripping). Options come from argv: --version=<nomad version> --latency-ms=<n>.
//
// `url` is the fake Nomad agent. `controlUrl` is a second, plain-HTTP listener
// on 127.0.0.1 for fault injection and inspection from another process; it is
// separate so that it stays up while the fake "Nomad" is down (goDown). Every
// control route lives under /__fake/ and calls one of the fake's own methods:
//
//   POST /__fake/fail-next    {method?, path?, pathRegex?, status, body?, headers?, times?, afterProcessing?}  → failNext
//   POST /__fake/drop-next    {method?, path?, pathRegex?, times?, afterProcessing?}          → dropNext
//   POST /__fake/latency      {ms, method?, path?, pathRegex?}                                → setLatency
//   POST /__fake/clear-faults                                                                 → clearFaults
//   POST /__fake/down | /__fake/up                                                            → goDown | comeBack
//   POST /__fake/reset-stats                                                                  → resetStats
//   GET  /__fake/tokens        → issuedTokens() (every token but the bootstrap one)
//   GET  /__fake/token-count   → {"count": tokenCount()} (the bootstrap token included)
//   GET  /__fake/requests?method=&path=  → {"count": requestCount(...)}
//   GET  /__fake/state         → {"url", "up", "tokenCount", "routeCounts"}
//
// `path` matches a concrete path or a route such as "/v1/acl/token/:accessor";
// `pathRegex` is a JavaScript regular expression matched against the path.
// Answers are JSON; a bad control request answers 400 {"error": "..."}.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { startNomadFake, type RequestMatch } from "./nomad-fake.ts";

const option = (name: string): string | undefined =>
  process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);

const fake = await startNomadFake({ version: option("version") ?? "2.0.5" });
const latency = Number(option("latency-ms") ?? 0);
if (latency > 0) fake.setLatency(latency);
let up = true;

class ControlError extends Error {}

function record(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new ControlError("expected a JSON object");
  return value as Record<string, unknown>;
}

function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new ControlError(`${key} must be a string`);
  return value;
}

function optionalNumber(body: Record<string, unknown>, key: string): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) throw new ControlError(`${key} must be a number`);
  return value;
}

function requestMatch(body: Record<string, unknown>): RequestMatch {
  const method = optionalString(body, "method");
  const path = optionalString(body, "path");
  const pathRegex = optionalString(body, "pathRegex");
  if (path !== undefined && pathRegex !== undefined) throw new ControlError("give path or pathRegex, not both");
  let compiled: RegExp | undefined;
  if (pathRegex !== undefined) {
    try {
      compiled = new RegExp(pathRegex);
    } catch (error) {
      throw new ControlError(`pathRegex: ${(error as Error).message}`);
    }
  }
  return {
    ...(method === undefined ? {} : { method }),
    ...(path === undefined ? {} : { path }),
    ...(compiled === undefined ? {} : { path: compiled }),
  };
}

function headerMap(body: Record<string, unknown>): Record<string, string> | undefined {
  const value = body.headers;
  if (value === undefined || value === null) return undefined;
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(record(value))) {
    if (typeof item !== "string") throw new ControlError(`headers.${key} must be a string`);
    out[key] = item;
  }
  return out;
}

async function readJson(request: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (text === "") return {};
  try {
    return record(JSON.parse(text));
  } catch (error) {
    if (error instanceof ControlError) throw error;
    throw new ControlError(`body is not JSON: ${(error as Error).message}`);
  }
}

async function control(method: string, url: URL, request: http.IncomingMessage): Promise<unknown> {
  const route = `${method} ${url.pathname}`;
  switch (route) {
    case "POST /__fake/fail-next": {
      const body = await readJson(request);
      const status = optionalNumber(body, "status");
      if (status === undefined) throw new ControlError("status is required");
      const times = optionalNumber(body, "times");
      const text = optionalString(body, "body");
      const headers = headerMap(body);
      const after = body.afterProcessing;
      if (after !== undefined && typeof after !== "boolean") throw new ControlError("afterProcessing must be a boolean");
      fake.failNext({
        ...requestMatch(body),
        status,
        ...(text === undefined ? {} : { body: text }),
        ...(headers === undefined ? {} : { headers }),
        ...(times === undefined ? {} : { times }),
        ...(after === undefined ? {} : { afterProcessing: after }),
      });
      return { ok: true };
    }
    case "POST /__fake/drop-next": {
      const body = await readJson(request);
      const times = optionalNumber(body, "times");
      const after = body.afterProcessing;
      if (after !== undefined && typeof after !== "boolean") throw new ControlError("afterProcessing must be a boolean");
      fake.dropNext({
        ...requestMatch(body),
        ...(times === undefined ? {} : { times }),
        ...(after === undefined ? {} : { afterProcessing: after }),
      });
      return { ok: true };
    }
    case "POST /__fake/latency": {
      const body = await readJson(request);
      const ms = optionalNumber(body, "ms");
      if (ms === undefined || ms < 0) throw new ControlError("ms must be a non-negative number");
      fake.setLatency(ms, requestMatch(body));
      return { ok: true };
    }
    case "POST /__fake/clear-faults":
      fake.clearFaults();
      return { ok: true };
    case "POST /__fake/down":
      if (up) {
        await fake.goDown();
        up = false;
      }
      return { ok: true, up };
    case "POST /__fake/up":
      if (!up) {
        await fake.comeBack();
        up = true;
      }
      return { ok: true, up, url: fake.url };
    case "POST /__fake/reset-stats":
      fake.resetStats();
      return { ok: true };
    case "GET /__fake/tokens":
      return fake.issuedTokens();
    case "GET /__fake/token-count":
      return { count: fake.tokenCount() };
    case "GET /__fake/requests": {
      const match: RequestMatch = {};
      const m = url.searchParams.get("method");
      const p = url.searchParams.get("path");
      if (m !== null && m !== "") match.method = m;
      if (p !== null && p !== "") match.path = p;
      return { count: fake.requestCount(match) };
    }
    case "GET /__fake/state":
      return { url: fake.url, up, tokenCount: fake.tokenCount(), routeCounts: fake.routeCounts() };
    default:
      return undefined;
  }
}

const controlServer = http.createServer((request, response) => {
  const url = new URL(request.url ?? "/", "http://control");
  const reply = (status: number, value: unknown) => {
    const text = JSON.stringify(value);
    response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    response.end(text);
  };
  control(request.method ?? "GET", url, request).then(
    (value) => (value === undefined ? reply(404, { error: `no control route ${request.method} ${url.pathname}` }) : reply(200, value)),
    (error: unknown) =>
      reply(error instanceof ControlError ? 400 : 500, { error: error instanceof Error ? error.message : String(error) }),
  );
});
await new Promise<void>((resolve, reject) => {
  controlServer.once("error", reject);
  controlServer.listen(0, "127.0.0.1", () => resolve());
});
const controlUrl = `http://127.0.0.1:${(controlServer.address() as AddressInfo).port}`;

process.stdout.write(`${JSON.stringify({ url: fake.url, managementToken: fake.managementToken, controlUrl })}\n`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  controlServer.closeAllConnections();
  controlServer.close();
  if (up) await fake.stop();
  // No process.exit(): it can deadlock Node 24 while a V8 background compile
  // job runs (nodejs/node#54918). With every handle closed, the process ends.
  process.stdin.destroy();
};
process.stdin.on("end", () => void stop());
process.stdin.resume();
process.on("SIGTERM", () => void stop());
