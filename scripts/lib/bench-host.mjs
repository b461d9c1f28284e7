// The Go bench host (test/conformance/cmd/bench), built once per bench run and
// started once per cell group, plus the process hygiene around it: every
// process we start runs in its own group, and stopAll ends those groups (and
// only those) on exit, failure or signal.
import { execFileSync, spawn } from "node:child_process";
import { appendFileSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Process groups we started. */
const groups = new Set();

function statFields(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

function procs(match) {
  const out = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (match(statFields(entry))) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Live (non-zombie) members of a process group. */
export function groupMembers(pgid) {
  return procs((fields) => Number(fields[2]) === pgid && fields[0] !== "Z");
}

function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/** Registers a detached child's group as ours to stop. */
export function adoptGroup(pgid) {
  groups.add(pgid);
}

/** Groups that still have members (for the "processes left running" check). */
export function leftovers() {
  return [...groups].flatMap(groupMembers);
}

/** Stops each group we started (TERM, then KILL after 5 s), then any direct child left. */
export async function stopAll() {
  for (const pgid of groups) {
    if (groupMembers(pgid).length === 0) continue;
    signalGroup(pgid, "SIGTERM");
    for (let i = 0; i < 50 && groupMembers(pgid).length > 0; i += 1) await sleep(100);
    if (groupMembers(pgid).length > 0) signalGroup(pgid, "SIGKILL");
  }
  for (const pid of procs((fields) => Number(fields[1]) === process.pid)) {
    try {
      process.kill(pid, "SIGKILL"); // e.g. a plugin started by the start-up measurement
    } catch {
      // gone
    }
  }
}

/** Builds the host once (~3-15 s); `tags` picks the SDK ("openbao" or "" for Vault's). */
export function buildHost({ conformanceDir, outFile, tags }) {
  const args = ["build", ...(tags ? ["-tags", tags] : []), "-o", outFile, "./cmd/bench"];
  execFileSync("go", args, { cwd: conformanceDir, stdio: ["ignore", "ignore", "inherit"] });
  return outFile;
}

/**
 * Runs the built host once against `binary` and resolves with its JSON
 * document. Its stderr goes to `logPath`; lines starting with "bench:" are
 * echoed with `prefix` when `echo` is set.
 */
export function runHost({ host, conformanceDir, binary, args, logPath, title, echo = true, prefix = "  " }) {
  return new Promise((resolve, reject) => {
    appendFileSync(logPath, `\n===== ${title}: ${path.basename(host)} ${args.join(" ")} (PLUGIN_BINARY=${binary})\n`);
    const child = spawn(host, args, {
      cwd: conformanceDir,
      env: { ...process.env, PLUGIN_BINARY: binary, BENCH_EXIT_ON_STDIN_EOF: "1" },
      stdio: ["pipe", "pipe", "pipe"],
      detached: true, // own process group: the host, the plugin and the fake
    });
    adoptGroup(child.pid);
    let stdout = "";
    let partial = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => {
      appendFileSync(logPath, chunk);
      if (!echo) return;
      partial += chunk;
      const lines = partial.split("\n");
      partial = lines.pop();
      for (const line of lines) if (line.startsWith("bench:")) process.stderr.write(`${prefix}${line}\n`);
    });
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      if (code === 0) {
        try {
          resolve(JSON.parse(stdout));
        } catch (error) {
          reject(new Error(`the Go bench host printed no JSON document (${error.message}); see ${logPath}`));
        }
      } else {
        reject(new Error(`the Go bench host exited with ${signal ?? code} (${title}); see ${logPath}`));
      }
    });
  });
}
