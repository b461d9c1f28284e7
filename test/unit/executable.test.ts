// The built executable as a person or a host meets it: the CLI answers, the
// cookie check, fail-closed TLS, stdout carrying only the handshake line, the
// host's NODE_OPTIONS ignored, the heap cap and the mlock warning.
// Needs `npm run build` first (the README's first command).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { makeHostCertificate, PLUGIN_COOKIE } from "../../scripts/lib/host-cert.mjs";
import { NOT_A_PLUGIN_MESSAGE } from "../../src/host/handshake.ts";
import { PLUGIN_VERSION } from "../../src/version.ts";

const binary = path.resolve(import.meta.dirname, "..", "..", "dist", "vault-plugin-secrets-nomad");
if (!existsSync(binary)) throw new Error(`${binary} is missing: run \`npm run build\` first`);

/** A hung executable is killed and fails its test instead of hanging the run. */
const CHILD_TIMEOUT_MS = 60_000;
const hostCert = makeHostCertificate().certPem;
const BASE_ENV = { PATH: process.env.PATH ?? "", ...PLUGIN_COOKIE, PLUGIN_PROTOCOL_VERSIONS: "5" };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts the plugin like a host, waits for the handshake (or exit), then stops it with SIGTERM. */
function runAsHost(env: Record<string, string>, args: string[] = []): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      if (stdout.includes("\n")) setTimeout(() => child.kill("SIGTERM"), 200);
    });
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const logLines = (stderr: string) =>
  stderr
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe("the executable for a person at a terminal", () => {
  it("prints go-plugin's message and exits 1 without the host's cookie", () => {
    const run = spawnSync(binary, [], { env: { PATH: BASE_ENV.PATH }, encoding: "utf8", timeout: CHILD_TIMEOUT_MS });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(NOT_A_PLUGIN_MESSAGE);
    expect(run.stdout).toBe("");
  });

  it("answers --version and --help", () => {
    expect(spawnSync(binary, ["--version"], { encoding: "utf8", timeout: CHILD_TIMEOUT_MS }).stdout).toMatch(
      new RegExp(`^vault-plugin-secrets-nomad ${PLUGIN_VERSION.replaceAll(".", "\\.")}\ncommit [0-9a-f]{40}(-dirty)?\nnode v24\\.\\d+\\.\\d+\n$`),
    );
    const licenses = spawnSync(binary, ["--licenses"], { encoding: "utf8", timeout: CHILD_TIMEOUT_MS });
    expect(licenses.status).toBe(0);
    expect(licenses.stdout).toContain("@grpc/grpc-js");
    expect(licenses.stdout).toContain("Node.js");
    const help = spawnSync(binary, ["--help"], { encoding: "utf8", timeout: CHILD_TIMEOUT_MS });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("vault plugin register -sha256=");
  });
});

describe("the executable started by a host", () => {
  it("writes exactly one line, the handshake, to stdout, and exits cleanly on SIGTERM", async () => {
    const run = await runAsHost({ ...BASE_ENV, PLUGIN_CLIENT_CERT: hostCert, NOMAD_PLUGIN_LOG_LEVEL: "trace" });
    expect(run.stdout).toMatch(/^1\|5\|unix\|\/[^|]+\|grpc\|[A-Za-z0-9+/]{100,}\n$/);
    expect(run.code).toBe(0);
    for (const entry of logLines(run.stderr)) expect(entry["@timestamp"]).toMatch(/\.\d{6}Z$/);
  });

  it("ignores the host's NODE_OPTIONS", async () => {
    const run = await runAsHost({ ...BASE_ENV, PLUGIN_CLIENT_CERT: hostCert, NODE_OPTIONS: "--require /nonexistent.js" });
    expect(run.stdout).toMatch(/^1\|5\|unix\|/);
  });

  it.each([
    ["missing", { VAULT_PLUGIN_AUTOMTLS_ENABLED: "true" }, /PLUGIN_CLIENT_CERT is not set: refusing to serve without mutual TLS/],
    ["unparsable", { PLUGIN_CLIENT_CERT: "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n" }, /not a parsable PEM certificate/],
    ["absent with no other TLS material", {}, /refusing to serve in plaintext/],
  ])("fails closed when the host certificate is %s", async (_case, extra, message) => {
    const run = await runAsHost({ ...BASE_ENV, ...extra });
    expect(run.code).not.toBe(0);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(message);
  });

  it("runs no V8 compiler off the main thread, so its process.exit() cannot deadlock (nodejs/node#54918)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "exec-argv-"));
    try {
      const probe = path.join(dir, "print-exec-argv.cjs");
      writeFileSync(probe, `process.stderr.write("execArgv=" + JSON.stringify(process.execArgv) + "\\n");\n`);
      const run = await runAsHost({ ...BASE_ENV, PLUGIN_CLIENT_CERT: hostCert }, [`--node-options=--require=${probe}`]);
      const line = run.stderr.split("\n").find((text) => text.startsWith("execArgv="));
      const execArgv = JSON.parse(line?.slice("execArgv=".length) ?? "[]") as string[];
      expect(execArgv).toEqual(expect.arrayContaining(["--no-concurrent-recompilation", "--no-concurrent-sparkplug"]));
      expect(run.stdout).toMatch(/^1\|5\|unix\|/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("applies a heap cap from the catalog env, and the default without one", async () => {
    const limit = async (extra: Record<string, string>) => {
      const run = await runAsHost({ ...BASE_ENV, PLUGIN_CLIENT_CERT: hostCert, NOMAD_PLUGIN_LOG_LEVEL: "debug", ...extra });
      const start = logLines(run.stderr).find((entry) => entry["@message"] === "plugin starting");
      return start?.heap_limit_mb as number;
    };
    const byDefault = await limit({});
    const capped = await limit({ NOMAD_PLUGIN_MAX_HEAP_MB: "96" });
    const ignoredFromNodeOptions = await limit({ NODE_OPTIONS: "--max-old-space-size=4096" });
    expect(capped).toBeLessThan(byDefault);
    expect(ignoredFromNodeOptions).toBe(byDefault);
    expect(byDefault).toBeLessThan(1024);
  });

  it("warns once, clearly, when the host asks for mlock", async () => {
    const run = await runAsHost({ ...BASE_ENV, PLUGIN_CLIENT_CERT: hostCert, VAULT_PLUGIN_MLOCK_ENABLED: "true" });
    const warnings = logLines(run.stderr).filter((entry) => String(entry["@message"]).includes("mlock"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.["@level"]).toBe("warn");
    expect(warnings[0]?.["@message"]).toMatch(/cannot.*Disable swap/);
  });
});

describe("signals, socket placement and the exit report", () => {
  it("ignores SIGINT (Ctrl-C on Vault), stops on SIGTERM, and logs a final stats line", async () => {
    const child = spawn(binary, [], {
      env: { ...BASE_ENV, PLUGIN_CLIENT_CERT: hostCert },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    child.kill("SIGINT");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(child.exitCode).toBeNull();
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    const exit = logLines(stderr).find((entry) => entry["@message"] === "plugin exiting");
    expect(exit).toMatchObject({ "@level": "info", reason: "SIGTERM", requests: 0, errors: 0 });
    expect(exit?.rss_mb).toEqual(expect.any(Number));
  });

  // The start-up window: before the fix, a SIGTERM between the handshake line
  // and the end of start-up killed the process (exit code null, no clean-up).
  it.each([
    ["as soon as it logs its first line, before the handshake", "stderr"],
    ["the instant the handshake line appears", "stdout"],
  ] as const)("stops cleanly on a SIGTERM sent %s", async (_moment, stream) => {
    const socketDir = mkdtempSync(path.join(tmpdir(), "plugin-sigterm-"));
    try {
      const child = spawn(binary, [], {
        env: { ...BASE_ENV, PLUGIN_CLIENT_CERT: hostCert, NOMAD_PLUGIN_LOG_LEVEL: "trace", PLUGIN_UNIX_SOCKET_DIR: socketDir },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (chunk) => (stderr += chunk));
      child[stream].once("data", () => child.kill("SIGTERM"));
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
        child.once("exit", (exitCode, exitSignal) => resolve([exitCode, exitSignal])),
      );
      clearTimeout(timer);
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      expect(logLines(stderr).find((entry) => entry["@message"] === "plugin exiting")).toMatchObject({ reason: "SIGTERM" });
      expect(readdirSync(socketDir)).toEqual([]);
    } finally {
      rmSync(socketDir, { recursive: true, force: true });
    }
  });

  it("creates its socket in PLUGIN_UNIX_SOCKET_DIR when the host sets it", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "plugin-sockets-"));
    try {
      const run = await runAsHost({ ...BASE_ENV, PLUGIN_CLIENT_CERT: hostCert, PLUGIN_UNIX_SOCKET_DIR: dir });
      expect(run.stdout.split("|")[3]?.startsWith(`${dir}/plugin`)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
