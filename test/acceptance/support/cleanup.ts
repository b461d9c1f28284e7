// Last-resort cleanup. Every process group and temporary directory the suite
// creates is registered here as soon as it exists; the orderly path (afterAll →
// Stack.close) unregisters it again. Whatever is still registered when the
// worker exits or is interrupted is killed or removed synchronously, so a
// crashed or cancelled run does not leave dev servers behind.
import { rmSync } from "node:fs";

export interface Resource {
  description: string;
  /** Must be synchronous: it also runs from process "exit". */
  release(): void;
}

const resources = new Set<Resource>();
let hooksInstalled = false;

export function releaseAll(): void {
  for (const resource of [...resources].reverse()) {
    resources.delete(resource);
    try {
      resource.release();
    } catch {
      // best effort: keep releasing the rest
    }
  }
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.once("exit", releaseAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      releaseAll();
      // Default action again, now that our handler is gone.
      process.kill(process.pid, signal);
    });
  }
}

/** Registers a resource; the returned function unregisters it (without releasing). */
export function track(resource: Resource): () => void {
  installExitHooks();
  resources.add(resource);
  return () => {
    resources.delete(resource);
  };
}

/** Signals a whole process group (the child was spawned detached, so pgid = pid). */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

export function trackProcessGroup(pid: number, description: string): () => void {
  return track({ description, release: () => void signalGroup(pid, "SIGKILL") });
}

export function keepTemporaryFiles(): boolean {
  return process.env.ACC_KEEP_TMP === "1";
}

export function trackDirectory(dir: string): () => void {
  return track({
    description: `directory ${dir}`,
    release: () => {
      if (!keepTemporaryFiles()) rmSync(dir, { recursive: true, force: true });
    },
  });
}
