// What one test file started, torn down in reverse order (like Go's t.Cleanup),
// with the servers' logs printed when something failed.
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { keepTemporaryFiles, trackDirectory } from "./cleanup.ts";
import type { ManagedProcess } from "./process.ts";

interface Cleanup {
  what: string;
  run: () => Promise<void> | void;
}

export class Stack {
  private readonly cleanups: Cleanup[] = [];
  private readonly processes: ManagedProcess[] = [];
  private closed = false;

  /** Runs `run` on close, after everything deferred later. */
  defer(what: string, run: () => Promise<void> | void): void {
    this.cleanups.push({ what, run });
  }

  /** A process whose log is printed on failure and which is stopped on close. */
  adopt(process: ManagedProcess): ManagedProcess {
    this.processes.push(process);
    this.defer(`stop ${process.name}`, () => process.stop());
    return process;
  }

  /**
   * A fresh directory under the system temp dir (realpath'd: Vault compares
   * plugin paths after resolving symlinks, and macOS's /var is one).
   */
  tempDir(label: string): string {
    const dir = realpathSync(mkdtempSync(path.join(tmpdir(), `vpsn-acc-${label}-`)));
    const untrack = trackDirectory(dir);
    this.defer(`remove ${dir}`, () => {
      untrack();
      if (keepTemporaryFiles()) process.stderr.write(`[acceptance] kept ${dir} (ACC_KEEP_TMP=1)\n`);
      else rmSync(dir, { recursive: true, force: true });
    });
    return dir;
  }

  /**
   * The last lines of every server's log. A dev server prints its root token in
   * its banner, which a short run keeps within those lines: it is masked, and
   * `redact` may mask more (secrets a test knows of).
   */
  printLogs(why: string, redact: (text: string) => string = (text) => text): void {
    for (const proc of this.processes) {
      const tail = redact(proc.tail(150)).replace(/^(\s*Root Token: ).+$/gm, "$1<redacted>");
      process.stderr.write(`\n===== [acceptance] ${why}: last lines of ${proc.name} (${proc.logFile}) =====\n${tail}\n===== end of ${proc.name} =====\n`);
    }
  }

  /** Runs every cleanup even if some fail; throws the failures together at the end. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const failures: string[] = [];
    for (const cleanup of this.cleanups.reverse()) {
      try {
        await cleanup.run();
      } catch (error: unknown) {
        failures.push(`${cleanup.what}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    if (failures.length > 0) throw new Error(`cleanup failed:\n  ${failures.join("\n  ")}`);
  }
}
