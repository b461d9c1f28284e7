// Long-running servers (the dev Vault/OpenBao and the Nomad agent). Each runs in
// its own process group, so stopping it also stops what it started (Vault's
// plugin processes, Nomad's executors), with stdout and stderr in a log file in
// its temporary directory.
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { signalGroup, trackProcessGroup } from "./cleanup.ts";

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  name: string;
  pid: number;
  logFile: string;
  /** Set once the process has exited. */
  exit(): ExitInfo | undefined;
  /** The last `lines` lines of the log. */
  tail(lines?: number): string;
  /** SIGTERM to the group, then SIGKILL if it lingers. Idempotent. */
  stop(): Promise<void>;
}

export interface StartOptions {
  name: string;
  bin: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  logFile: string;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function tailFile(file: string, lines = 200): string {
  if (!existsSync(file)) return "(no log file)";
  const all = readFileSync(file, "utf8").split("\n");
  const kept = all.slice(-lines);
  const skipped = all.length - kept.length;
  return `${skipped > 0 ? `... (${skipped} earlier lines in ${file})\n` : ""}${kept.join("\n")}`;
}

export function startProcess(options: StartOptions): ManagedProcess {
  const fd = openSync(options.logFile, "a");
  let child;
  try {
    child = spawn(options.bin, options.args, {
      cwd: options.cwd,
      env: options.env,
      detached: true, // own process group: pgid = pid
      stdio: ["ignore", fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.name}: could not start ${options.bin}`);
  const untrack = trackProcessGroup(pid, `${options.name} (pid ${pid})`);
  let exitInfo: ExitInfo | undefined;
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exitInfo = { code, signal };
      resolve();
    });
    child.once("error", (error) => {
      spawnError = error;
      exitInfo ??= { code: null, signal: null };
      resolve();
    });
  });
  child.unref();

  const waitExit = (ms: number) => Promise.race([exited.then(() => true), sleep(ms).then(() => false)]);
  let stopping: Promise<void> | undefined;

  return {
    name: options.name,
    pid,
    logFile: options.logFile,
    exit: () => (spawnError !== undefined ? { code: null, signal: null } : exitInfo),
    tail: (lines = 200) =>
      `${spawnError !== undefined ? `spawn error: ${spawnError.message}\n` : ""}${tailFile(options.logFile, lines)}`,
    stop: () => {
      stopping ??= (async () => {
        if (exitInfo === undefined) {
          signalGroup(pid, "SIGTERM");
          if (!(await waitExit(15_000))) {
            signalGroup(pid, "SIGKILL");
            await waitExit(5_000);
          }
        }
        // Whatever the leader left behind in its group (plugin processes).
        signalGroup(pid, "SIGKILL");
        untrack();
      })();
      return stopping;
    },
  };
}

export function describeExit(info: ExitInfo): string {
  return info.signal !== null ? `killed by ${info.signal}` : `exited with code ${String(info.code)}`;
}

export interface CommandOutcome {
  /** The exit code; 128 when a signal ended the process. */
  code: number;
  stdout: string;
  /** Ends with "(killed by SIGNAL)" when a signal ended the process. */
  stderr: string;
}

/**
 * Runs a short-lived command to its end, collecting its output; killed after
 * `timeoutMs`. Rejects only when it cannot be started (`label` names it then).
 */
export function runToExit(
  bin: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number; label: string },
): Promise<CommandOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env: options.env, stdio: ["ignore", "pipe", "pipe"], ...(options.cwd === undefined ? {} : { cwd: options.cwd }) });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`${options.label}: ${error.message}`));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? 128,
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8") + (signal !== null ? `\n(killed by ${signal})` : ""),
      });
    });
  });
}
