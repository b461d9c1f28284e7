// `npm run bench`: benchmarks of the built executable. Benchmarks, not tests:
// nothing fails on a time; medians, percentiles and ratios are reported.
//
//   1. exec → handshake line (scripts/bench-startup.mjs, ≥ 40 runs)
//   2-4. through the Go SDK host (test/conformance/cmd/bench, `go run`):
//        plugin RSS under load, throughput/latency of config/lease reads and
//        creds against the Nomad fake, revoke of 5,000 leases.
//
// Prints one table, writes results/bench-<timestamp>.json (+ .log with the
// host/plugin log). Extra arguments go to the Go program, e.g.
// `npm run bench -- -quick` or `npm run bench -- -tags openbao` (a leading
// `-tags <t>` is given to `go run`). Env: PLUGIN_BINARY, STARTUP_RUNS.
import { execFileSync, spawn } from "node:child_process";
import { accessSync, constants, createWriteStream, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { measureStartup } from "./bench-startup.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const binary = path.resolve(process.env.PLUGIN_BINARY ?? path.join(root, "dist", "vault-plugin-secrets-nomad"));
const conformanceDir = path.join(root, "test", "conformance");
const resultsDir = path.join(root, "results");
const startedAt = new Date();
const t0 = performance.now();
const stamp = startedAt.toISOString().replace(/\.\d+Z$/, "Z").replaceAll(":", "-");
const jsonPath = path.join(resultsDir, `bench-${stamp}.json`);
const logPath = path.join(resultsDir, `bench-${stamp}.log`);

// ------------------------------------------------------------ process hygiene

/** Process groups we started (the `go run` tree: go, the bench, plugin, fake). */
const groups = new Set();

function childrenOf(ppid) {
  const out = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === ppid) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function groupMembers(pgid) {
  const out = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === pgid && fields[0] !== "Z") out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Stops everything we started: each `go run` group (TERM, then KILL after 5 s) and any direct child. */
async function stopAll() {
  for (const pgid of groups) {
    if (groupMembers(pgid).length === 0) continue;
    signalGroup(pgid, "SIGTERM");
    for (let i = 0; i < 50 && groupMembers(pgid).length > 0; i += 1) await sleep(100);
    if (groupMembers(pgid).length > 0) signalGroup(pgid, "SIGKILL");
  }
  for (const pid of childrenOf(process.pid)) {
    try {
      process.kill(pid, "SIGKILL"); // e.g. a plugin started by the start-up measurement
    } catch {
      // gone
    }
  }
}

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\nbench: ${signal}: stopping the plugin and the Nomad fake…\n`);
    stopAll().finally(() => process.exit(130));
  });
}

// ------------------------------------------------------------ header

function run(cmd, args, options = {}) {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], ...options }).trim();
  } catch {
    return undefined;
  }
}

function machine() {
  const meminfo = readFileSync("/proc/meminfo", "utf8");
  const memKb = Number(/^MemTotal:\s+(\d+)\s+kB/m.exec(meminfo)?.[1] ?? 0);
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? "unknown";
  const nproc = Number(run("nproc", []) ?? os.availableParallelism());
  return { nproc, memTotalKb: memKb, memTotalGiB: Math.round((memKb / 1048576) * 10) / 10, cpuModel: model, kernel: os.release(), arch: process.arch };
}

function gitCommit() {
  const head = run("git", ["rev-parse", "--short", "HEAD"], { cwd: root });
  if (head === undefined) return "unknown";
  // --no-optional-locks: never rewrite the index (no state change).
  const status = run("git", ["--no-optional-locks", "status", "--porcelain"], { cwd: root });
  return status === undefined ? `${head}-unknown` : status === "" ? head : `${head}-dirty`;
}

function header() {
  const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
  return {
    date: startedAt.toISOString(),
    machine: machine(),
    pluginNodeVersion: run(path.join(root, "node_modules", ".bin", "node"), ["--version"]) ?? "unknown",
    goVersion: run("go", ["env", "GOVERSION"], { cwd: conformanceDir }) ?? "unknown",
    packageVersion: pkg.version,
    gitCommit: gitCommit(),
    binary,
  };
}

// ------------------------------------------------------------ Go host

function goArgs(extra) {
  const args = ["run"];
  const rest = [...extra];
  if (rest[0] === "-tags" || rest[0] === "--tags") {
    args.push("-tags", rest[1]);
    rest.splice(0, 2);
  }
  return [...args, "./cmd/bench", ...rest];
}

function runGoBench(extra) {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(logPath);
    const args = goArgs(extra);
    process.stderr.write(`bench: go ${args.join(" ")} (in test/conformance; compiles first, then ~3-5 min)\n`);
    const child = spawn("go", args, {
      cwd: conformanceDir,
      env: { ...process.env, PLUGIN_BINARY: binary, BENCH_EXIT_ON_STDIN_EOF: "1" },
      stdio: ["pipe", "pipe", "pipe"],
      detached: true, // own process group: go, the bench, the plugin and the fake
    });
    groups.add(child.pid);
    let stdout = "";
    let partial = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => {
      log.write(chunk);
      partial += chunk;
      const lines = partial.split("\n");
      partial = lines.pop();
      for (const line of lines) if (line.startsWith("bench:")) process.stderr.write(`  ${line}\n`);
    });
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      log.end();
      if (code === 0) {
        try {
          resolve(JSON.parse(stdout));
        } catch (error) {
          reject(new Error(`the Go bench printed no JSON document (${error.message}); see ${logPath}`));
        }
      } else {
        reject(new Error(`go run ./cmd/bench exited with ${signal ?? code}; see ${logPath}`));
      }
    });
  });
}

// ------------------------------------------------------------ table

const num = (x, digits = 0) =>
  x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const msf = (x) => (x >= 100 ? `${num(x, 0)} ms` : x >= 10 ? `${num(x, 1)} ms` : `${num(x, 2)} ms`);
const mib = (kb) => `${num(kb / 1024, 1)} MiB`;
const ratio = (x) => `×${x >= 10 ? num(x, 0) : num(x, 2)}`;

// Columns: Benchmark, Case, Result, p50, p90, p99, max, Notes.
function rows(startup, go) {
  const out = [];
  const blank = ["", "", "", ""];
  out.push([
    "start-up",
    `exec → handshake line, ${startup.runs} runs`,
    `${msf(startup.medianMs)} median`,
    msf(startup.medianMs),
    msf(startup.p90Ms),
    "",
    msf(startup.maxMs),
    `p10 ${msf(startup.p10Ms)} · min ${msf(startup.minMs)}`,
  ]);
  const rss = go.rss ?? [];
  const idle = rss[0];
  for (const p of rss) {
    const notes = [];
    if (p !== idle && idle !== undefined && idle.vmrss_kb > 0) {
      const d = p.vmrss_kb - idle.vmrss_kb;
      notes.push(`${d >= 0 ? "+" : "−"}${mib(Math.abs(d))} (${ratio(p.vmrss_kb / idle.vmrss_kb)}) vs idle`);
    }
    notes.push(`VmHWM ${mib(p.vmhwm_kb)}`);
    if (p.idle_cpu_pct !== undefined) notes.push(`plugin CPU while idle ${num(p.idle_cpu_pct, 1)} %`);
    out.push(["RSS", `${p.label} (${num(p.requests)} req)`, mib(p.vmrss_kb), ...blank, notes.join(" · ")]);
  }
  const cells = go.throughput ?? [];
  const find = (c, lat, conc) => cells.find((x) => x.name === c.name && x.nomad_latency_ms === lat && x.concurrency === conc);
  for (const c of cells) {
    const what = c.name === "creds" ? `creds, Nomad +${c.nomad_latency_ms} ms` : c.name;
    const notes = [];
    const b = find(c, c.nomad_latency_ms, 1);
    if (b !== undefined && b !== c && b.req_per_s > 0) notes.push(`${ratio(c.req_per_s / b.req_per_s)} vs c=1`);
    const z = c.nomad_latency_ms > 0 ? find(c, 0, c.concurrency) : undefined;
    if (z !== undefined && z.req_per_s > 0) notes.push(`${ratio(c.req_per_s / z.req_per_s)} vs +0 ms`);
    notes.push(`CPU ${num(c.plugin_cpu_ms_per_req, 2)} ms/req`);
    notes.push(`${c.errors} err${c.first_error ? ` (${c.first_error.slice(0, 60)})` : ""}`);
    if (c.cleanup !== undefined && (c.cleanup.errors > 0 || c.cleanup.vault_tokens_left > 0)) {
      notes.push(`cleanup: ${c.cleanup.errors} revoke errors, ${c.cleanup.vault_tokens_left} tokens left`);
    }
    out.push([
      "throughput",
      `${what}, c=${c.concurrency}`,
      `${num(c.req_per_s, 0)} req/s`,
      msf(c.p50_ms),
      msf(c.p90_ms),
      msf(c.p99_ms),
      msf(c.max_ms),
      notes.join(" · "),
    ]);
  }
  const r = go.revoke;
  if (r !== null && r !== undefined) {
    const lat = r.nomad_latency_ms > 0 ? `, Nomad +${r.nomad_latency_ms} ms` : "";
    const errs = (ph) => `${ph.errors} err${ph.first_error ? ` (${ph.first_error.slice(0, 60)})` : ""}`;
    out.push([
      "revoke",
      `issue ${num(r.leases)} creds, c=${r.concurrency}${lat}`,
      `${num(r.issue.per_s, 0)} creds/s`,
      msf(r.issue.p50_ms),
      msf(r.issue.p90_ms),
      msf(r.issue.p99_ms),
      msf(r.issue.max_ms),
      `${num(r.issue.duration_s, 2)} s total · ${errs(r.issue)}`,
    ]);
    out.push([
      "revoke",
      `revoke ${num(r.leases)} leases (unmount), c=${r.concurrency}`,
      `${num(r.revoke.per_s, 0)} revokes/s`,
      msf(r.revoke.p50_ms),
      msf(r.revoke.p90_ms),
      msf(r.revoke.p99_ms),
      msf(r.revoke.max_ms),
      `${num(r.revoke.duration_s, 2)} s total · ${errs(r.revoke)} · ${num(r.nomad_delete_requests)} DELETEs to Nomad`,
    ]);
    out.push([
      "revoke",
      "vault-* tokens left in Nomad",
      `${r.vault_tokens_left} tokens`,
      ...blank,
      `/v1/acl/tokens lists ${r.nomad_tokens_api} (incl. management) · ${r.leases_left} leases left`,
    ]);
  }
  if (go.shutdown) {
    out.push([
      "shutdown",
      "Cleanup → Shutdown → process exit",
      `${num(go.shutdown.duration_s * 1000, 0)} ms`,
      ...blank,
      go.shutdown.graceful ? "exited by itself" : go.shutdown.exited ? "go-plugin had to kill it" : "NOT exited",
    ]);
  }
  return out;
}

function render(h, startup, go) {
  const head = ["Benchmark", "Case", "Result", "p50", "p90", "p99", "max", "Notes"];
  const body = rows(startup, go);
  const widths = head.map((title, i) => Math.max(title.length, ...body.map((r) => r[i].length)));
  const right = new Set([2, 3, 4, 5, 6]);
  const cell = (text, i) => (right.has(i) ? text.padStart(widths[i]) : text.padEnd(widths[i]));
  const line = (r) => `│ ${r.map(cell).join(" │ ")} │`;
  const rule = (l, m, r) => `${l}${widths.map((w) => "─".repeat(w + 2)).join(m)}${r}`;
  const m = h.machine;
  const exit = go.plugin_exit_log;
  const lines = [
    `vault-plugin-secrets-nomad benchmarks · ${h.date}`,
    `machine: ${m.nproc} cores (${m.cpuModel}), ${num(m.memTotalGiB, 1)} GiB RAM, Linux ${m.kernel} ${m.arch}`,
    ...(m.nproc <= 2
      ? [`NOTE: ${m.nproc} cores shared by the Go host, the plugin and the Nomad fake: the figures are noisy; compare runs, not single numbers`]
      : []),
    `plugin ${go.plugin?.version ?? "?"} (package.json ${h.packageVersion}) · commit ${h.gitCommit} · Node ${h.pluginNodeVersion} (embedded) · ` +
      `Go ${h.goVersion} · host SDK ${go.sdk ?? "?"} · multiplexed ${go.plugin?.multiplexed ?? "?"}`,
    `throughput cells: ${go.options?.cell_s ?? "?"} s measured after ${go.options?.warmup_s ?? "?"} s warm-up; RSS batches at c=${go.options?.rss_concurrency ?? "?"}; ` +
      `latency = one HandleRequest through the SDK host; CPU = plugin user+sys per request`,
    rule("┌", "┬", "┐"),
    line(head),
    rule("├", "┼", "┤"),
    ...body.map(line),
    rule("└", "┴", "┘"),
  ];
  const logs = go.log ?? {};
  lines.push(
    `host/plugin log: ${logs.warnings ?? 0} warnings, ${logs.errors ?? 0} errors · plugin processes started ${go.plugin?.processes_started ?? "?"}, reloads ${go.plugin?.reloads ?? "?"}` +
      (exit ? ` · plugin's exit report: ${exit.requests} requests, ${exit.errors} errors, heap ${exit.heap_used_mb} MB, rss ${exit.rss_mb} MB, ${exit.nomad_calls} Nomad calls` : ""),
  );
  for (const sample of logs.samples ?? []) lines.push(`  ${sample}`);
  return lines.join("\n");
}

// ------------------------------------------------------------ main

async function main() {
  try {
    accessSync(binary, constants.X_OK);
  } catch {
    process.stderr.write(`bench: ${binary} is missing or not executable: run \`npm run build\` first (or set PLUGIN_BINARY).\n`);
    process.exit(1);
  }
  mkdirSync(resultsDir, { recursive: true });
  const h = header();
  const result = { header: h, startup: null, host: null, error: null, runSeconds: null, jsonPath, logPath };
  try {
    const runs = Math.max(40, Number(process.env.STARTUP_RUNS ?? 40));
    process.stderr.write(`bench: exec → handshake line, ${runs} runs (+3 warm-up)…\n`);
    result.startup = await measureStartup({ runs, binary });
    process.stderr.write(`  bench: start-up median ${msf(result.startup.medianMs)}\n`);
    result.host = await runGoBench(process.argv.slice(2));
  } catch (error) {
    result.error = String(error?.message ?? error);
  } finally {
    await stopAll();
    const leftovers = [...groups].flatMap(groupMembers);
    if (leftovers.length > 0) result.error = `${result.error ?? ""} processes left running: ${leftovers.join(", ")}`.trim();
    result.runSeconds = Math.round((performance.now() - t0) / 100) / 10;
    writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
  }
  if (result.startup !== null && result.host !== null) {
    process.stdout.write(`\n${render(h, result.startup, result.host)}\n`);
  }
  process.stdout.write(`run time: ${num(result.runSeconds, 1)} s\n`);
  process.stdout.write(`results: ${path.relative(process.cwd(), jsonPath) || jsonPath}\n`);
  if (groups.size > 0) process.stdout.write(`host/plugin log: ${path.relative(process.cwd(), logPath) || logPath}\n`);
  if (result.error !== null) {
    process.stderr.write(`bench: FAILED: ${result.error}\n`);
    process.exit(1);
  }
}

await main();
