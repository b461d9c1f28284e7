// `npm run bench`: benchmarks of the built executable. Benchmarks, not tests:
// nothing fails on a time; medians, percentiles and ratios are reported.
//
//   npm run bench                          ours alone: one host run, the detailed table
//   npm run bench -- --peer <executable>   side by side with another plugin (e.g. the Go peer)
//   npm run bench -- --floor               + the runtime's floor (test/support/floor) as a column
//   npm run bench -- --real                through a real server's HTTP API and a real Nomad agent
//
// Side by side: every cell group runs on each executable in turn through the
// same Go host (test/conformance/cmd/bench, built once per run), interleaved
// (ours, peer, floor, ours, peer, floor …) for --rounds rounds (default 3),
// and the table gives the median of the rounds and ours ÷ peer.
//
// Options:
//   --peer <path>           another plugin executable (with --peer the host links the OpenBao SDK
//                           unless a leading `-tags <t>` says otherwise)
//   --floor                 build and measure the runtime's floor as a third column
//   --ours <path>           our executable (default dist/vault-plugin-secrets-nomad; PLUGIN_BINARY too)
//   --node-options "<flags>" extra V8/Node flags for OUR executable only, passed as the catalog
//                           arg --node-options=<flags> (the SEA ignores NODE_OPTIONS by design)
//   --rounds N              rounds per cell group (side by side; default 3)
//   --only <groups>         comma-separated: startup, mount, rss, reads, creds, revoke
//   --startup-runs N        exec → handshake runs per round (side by side; default 20, alone 40)
//   --real                  see scripts/lib/bench-real.mjs (needs BAO_BIN or VAULT_BIN, and NOMAD_BIN);
//                           --real-seconds S (cell length, default 5), --real-concurrency 1,16,
//                           --real-nomad-default-limits (keep Nomad's 100 connections per client IP)
// Anything else goes to the Go host, e.g. `-cell 5s`, `-quick`, `-rss-long 0`; a leading
// `-tags <t>` picks the host's SDK build tag.
//
// Writes results/bench-<timestamp>.json and .log (the host and plugin logs).
import { execFileSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { measureStartup } from "./bench-startup.mjs";
import { renderDetail } from "./lib/bench-detail.mjs";
import { buildFloor } from "./lib/bench-floor.mjs";
import { buildHost, leftovers, runHost, stopAll } from "./lib/bench-host.mjs";
import { errorCounts, hostMetrics, renderTable, startupMetrics, summarise } from "./lib/bench-table.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const conformanceDir = path.join(root, "test", "conformance");
const resultsDir = path.join(root, "results");
const startedAt = new Date();
const t0 = performance.now();
const stamp = startedAt.toISOString().replace(/\.\d+Z$/, "Z").replaceAll(":", "-");
const jsonPath = path.join(resultsDir, `bench-${stamp}.json`);
const logPath = path.join(resultsDir, `bench-${stamp}.log`);
const GROUPS = ["startup", "mount", "rss", "reads", "creds", "revoke"];
/** The floor answers config/lease only: no creds, no revoke. */
const FLOOR_GROUPS = new Set(["startup", "mount", "rss", "reads"]);
/** Side-by-side defaults: the settings of issue 13's table; anything given later wins. */
const SIDE_BY_SIDE_HOST_ARGS = ["-cell", "3s", "-warmup", "1s", "-revoke-leases", "3000", "-mount-runs", "5"];

// ------------------------------------------------------------ arguments

function parseArguments(argv) {
  const o = { peer: undefined, floor: false, real: false, ours: process.env.PLUGIN_BINARY, nodeOptions: undefined, rounds: undefined, only: undefined, startupRuns: undefined, tags: undefined, hostArgs: [] };
  const rest = [...argv];
  if (rest[0] === "-tags" || rest[0] === "--tags") {
    o.tags = rest[1] ?? "";
    rest.splice(0, 2);
  }
  const value = (flag) => {
    const v = rest.shift();
    if (v === undefined) throw new Error(`${flag} needs a value`);
    return v;
  };
  while (rest.length > 0) {
    const arg = rest.shift();
    const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const take = () => inline ?? value(flag);
    switch (flag) {
      case "--peer":
        o.peer = path.resolve(take());
        break;
      case "--ours":
        o.ours = take();
        break;
      case "--floor":
        o.floor = true;
        break;
      case "--real":
        o.real = true;
        break;
      case "--node-options":
        o.nodeOptions = take();
        break;
      case "--rounds":
        o.rounds = Number(take());
        if (!Number.isInteger(o.rounds) || o.rounds < 1) throw new Error("--rounds needs a whole number ≥ 1");
        break;
      case "--startup-runs":
        o.startupRuns = Number(take());
        if (!Number.isInteger(o.startupRuns) || o.startupRuns < 1) throw new Error("--startup-runs needs a whole number ≥ 1");
        break;
      case "--real-seconds":
        o.realSeconds = Number(take());
        if (!(o.realSeconds > 0)) throw new Error("--real-seconds needs a positive number");
        break;
      case "--real-concurrency":
        o.realConcurrency = take().split(",").map(Number);
        if (o.realConcurrency.some((c) => !Number.isInteger(c) || c < 1)) throw new Error("--real-concurrency needs whole numbers ≥ 1, comma-separated");
        break;
      case "--real-nomad-default-limits":
        o.realNomadDefaultLimits = true;
        break;
      case "--only":
        o.only = take().split(",").map((g) => g.trim()).filter((g) => g !== "");
        for (const g of o.only) if (!GROUPS.includes(g)) throw new Error(`--only: unknown cell group ${g} (known: ${GROUPS.join(", ")})`);
        break;
      case "--":
        break;
      default:
        o.hostArgs.push(arg);
    }
  }
  o.ours = path.resolve(o.ours ?? path.join(root, "dist", "vault-plugin-secrets-nomad"));
  return o;
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
  return { nproc, memTotalKb: memKb, memTotalGiB: Math.round((memKb / 1048576) * 10) / 10, cpuModel: model, kernel: os.release(), arch: process.arch, loadAverage: os.loadavg() };
}

function gitCommit() {
  const head = run("git", ["rev-parse", "--short", "HEAD"], { cwd: root });
  if (head === undefined) return "unknown";
  // --no-optional-locks: never rewrite the index (no state change).
  const status = run("git", ["--no-optional-locks", "status", "--porcelain"], { cwd: root });
  return status === undefined ? `${head}-unknown` : status === "" ? head : `${head}-dirty`;
}

function header(binary) {
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

function machineLine(m) {
  return `machine: ${m.nproc} cores (${m.cpuModel}), ${m.memTotalGiB} GiB RAM, Linux ${m.kernel} ${m.arch}, load average at start ${m.loadAverage.map((x) => x.toFixed(2)).join(" ")}`;
}

// ------------------------------------------------------------ signals

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\nbench: ${signal}: stopping the plugins, the hosts and the Nomad fakes…\n`);
    stopAll().finally(() => process.exit(130));
  });
}

function requireExecutable(file, hint) {
  try {
    accessSync(file, constants.X_OK);
  } catch {
    throw new Error(`${file} is missing or not executable: ${hint}`);
  }
}

// ------------------------------------------------------------ ours alone (as before)

async function alone(options, result, host) {
  const runs = options.startupRuns ?? Math.max(40, Number(process.env.STARTUP_RUNS ?? 40));
  const pluginArgs = options.nodeOptions === undefined ? [] : [`--node-options=${options.nodeOptions}`];
  process.stderr.write(`bench: exec → handshake line, ${runs} runs (+3 warm-up)…\n`);
  result.startup = await measureStartup({ runs, binary: options.ours, args: pluginArgs });
  process.stderr.write(`  bench: start-up median ${result.startup.medianMs.toFixed(1)} ms\n`);
  const only = (options.only ?? GROUPS).filter((g) => g !== "startup");
  const args = ["-only", only.join(","), ...pluginArgs.flatMap((a) => ["-plugin-arg", a]), ...options.hostArgs];
  process.stderr.write(`bench: Go host ${args.join(" ")} (~3-5 min)\n`);
  result.host = await runHost({ host, conformanceDir, binary: options.ours, args, logPath, title: "ours" });
  return () => renderDetail(result.header, result.startup, result.host);
}

// ------------------------------------------------------------ side by side

async function sideBySide(options, result, host, columns) {
  const rounds = options.rounds ?? 3;
  const groups = options.only ?? GROUPS;
  const startupRuns = options.startupRuns ?? 20;
  const hostArgs = [...SIDE_BY_SIDE_HOST_ARGS, ...options.hostArgs];
  result.rounds = Object.fromEntries(columns.map((c) => [c.name, Array.from({ length: rounds }, () => ({}))]));
  result.raw = Object.fromEntries(columns.map((c) => [c.name, Array.from({ length: rounds }, () => ({}))]));
  result.errors = [];
  for (const column of columns) {
    const size = statSync(column.binary).size;
    for (const r of result.rounds[column.name]) r.size_mib = size / 2 ** 20;
  }
  for (const group of groups) {
    for (let round = 0; round < rounds; round += 1) {
      for (const column of columns) {
        if (!column.groups.has(group)) continue;
        const title = `${group} round ${round + 1}/${rounds} ${column.name}`;
        const started = performance.now();
        try {
          if (group === "startup") {
            const startup = await measureStartup({ runs: startupRuns, binary: column.binary, args: column.pluginArgs });
            result.raw[column.name][round].startup = startup;
            Object.assign(result.rounds[column.name][round], startupMetrics(startup));
          } else {
            const args = ["-only", group, ...column.pluginArgs.flatMap((a) => ["-plugin-arg", a]), ...hostArgs];
            const doc = await runHost({ host, conformanceDir, binary: column.binary, args, logPath, title, echo: false });
            result.raw[column.name][round][group] = doc;
            Object.assign(result.rounds[column.name][round], hostMetrics(doc));
          }
          process.stderr.write(`bench: ${title}: ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
        } catch (error) {
          const message = String(error?.message ?? error);
          result.errors.push(`${title}: ${message}`);
          process.stderr.write(`bench: ${title}: FAILED: ${message}\n`);
        }
      }
    }
  }
  const names = columns.map((c) => c.name);
  result.summary = summarise(names, result.rounds);
  result.errorCounts = errorCounts(names, result.rounds);
  return () => {
    const m = result.header.machine;
    const lines = [
      `vault-plugin-secrets-nomad side by side · ${result.header.date} · commit ${result.header.gitCommit}`,
      machineLine(m),
      ...(m.nproc <= 2 ? [`NOTE: ${m.nproc} cores shared by the host, the plugin and the Nomad fake (and anything else running): figures are noisy`] : []),
      ...columns.map((c) => `${c.name}: ${c.binary}${c.pluginArgs.length > 0 ? ` ${c.pluginArgs.join(" ")}` : ""}`),
      `median of ${rounds} round(s) per cell, interleaved ${names.join(", ")}; host ${result.hostTags || "vault"} SDK, ${hostArgs.join(" ")}; ` +
        `exec → handshake ${startupRuns} runs per round; CPU = plugin user+sys per request`,
      renderTable(names, result.summary),
      `errors counted by the host (all cells, all rounds): ${names.map((n) => `${n} ${result.errorCounts[n]}`).join(", ")}`,
    ];
    if (columns.some((c) => c.name === "floor")) lines.push("floor: the same transport and packaging answering config/lease from memory (no creds, no revoke)");
    return lines.join("\n");
  };
}

// ------------------------------------------------------------ main

async function main() {
  let options;
  try {
    options = parseArguments(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`bench: ${error.message}\n`);
    process.exit(2);
  }
  mkdirSync(resultsDir, { recursive: true });
  const result = { header: header(options.ours), options, error: null, runSeconds: null, jsonPath, logPath };
  const scratch = mkdtempSync(path.join(os.tmpdir(), "nomad-plugin-bench-"));
  let render = () => "";
  try {
    requireExecutable(options.ours, "run `npm run build` first (or pass --ours / set PLUGIN_BINARY)");
    if (options.peer !== undefined) requireExecutable(options.peer, "see README “Performance” for how to build the Go peer");
    if (options.real) {
      const { benchReal } = await import("./lib/bench-real.mjs");
      render = await benchReal({ root, options, result, scratch, logPath });
    } else {
      const sideBySideMode = options.peer !== undefined || options.floor || options.rounds !== undefined;
      // The Go peer links the OpenBao SDK; its mount needs that host.
      const tags = options.tags ?? (options.peer !== undefined ? "openbao" : "");
      result.hostTags = tags;
      process.stderr.write(`bench: building the Go host (${tags || "vault"} SDK)…\n`);
      const host = buildHost({ conformanceDir, outFile: path.join(scratch, "benchhost"), tags });
      if (!sideBySideMode) {
        render = await alone(options, result, host);
      } else {
        const ourArgs = options.nodeOptions === undefined ? [] : [`--node-options=${options.nodeOptions}`];
        const columns = [{ name: "ours", binary: options.ours, pluginArgs: ourArgs, groups: new Set(GROUPS) }];
        if (options.peer !== undefined) columns.push({ name: "peer", binary: options.peer, pluginArgs: [], groups: new Set(GROUPS) });
        if (options.floor) {
          process.stderr.write("bench: building the runtime's floor (test/support/floor)…\n");
          const floor = await buildFloor({ root, outDir: path.join(scratch, "floor") });
          columns.push({ name: "floor", binary: floor, pluginArgs: [], groups: FLOOR_GROUPS });
        }
        result.columns = columns.map(({ groups, ...c }) => ({ ...c, groups: [...groups] }));
        render = await sideBySide(options, result, host, columns);
      }
    }
  } catch (error) {
    result.error = String(error?.message ?? error);
  } finally {
    await stopAll();
    const left = leftovers();
    if (left.length > 0) result.error = `${result.error ?? ""} processes left running: ${left.join(", ")}`.trim();
    rmSync(scratch, { recursive: true, force: true });
    result.runSeconds = Math.round((performance.now() - t0) / 100) / 10;
    writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
  }
  if (result.error === null) process.stdout.write(`\n${render()}\n`);
  process.stdout.write(`run time: ${result.runSeconds.toFixed(1)} s\n`);
  process.stdout.write(`results: ${path.relative(process.cwd(), jsonPath) || jsonPath}\n`);
  if (existsSync(logPath)) process.stdout.write(`host/plugin log: ${path.relative(process.cwd(), logPath) || logPath}\n`);
  const failures = [...(result.errors ?? []), ...(result.error === null ? [] : [result.error])];
  if (failures.length > 0) {
    for (const failure of failures) process.stderr.write(`bench: FAILED: ${failure}\n`);
    process.exit(1);
  }
}

await main();
