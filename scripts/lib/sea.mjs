// Packages a bundled CommonJS script as a Node single-executable application,
// the one way the project does it: scripts/build.mjs builds the plugin with it,
// scripts/lib/bench-floor.mjs the runtime's floor (so the floor carries the
// same V8 flags and the same SEA settings as the plugin it is compared with).
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);

/**
 * Writes `executable` from `mainScript` (both in `dir`, where node runs: the
 * blob keeps the main path as given, so relative names keep checkout paths out
 * of the output). `assets` maps asset names to file names in `dir`.
 */
export async function packageSea({ nodeBinary, dir, mainScript, executable, assets, maxHeapMb }) {
  const blob = path.join(dir, "sea-prep.blob");
  const seaConfig = path.join(dir, "sea-config.json");
  writeFileSync(
    seaConfig,
    JSON.stringify({
      main: path.basename(mainScript),
      output: path.basename(blob),
      disableExperimentalSEAWarning: true,
      // Reproducible: no code cache (it changes the blob on every build, runtime.md §2.5).
      useSnapshot: false,
      useCodeCache: false,
      // A 2 MiB young-generation semi-space: V8's default grows it to 64 MiB
      // under load, which held 128 MiB of RSS for a heap of ~30 MiB live objects.
      // No concurrent recompilation: TurboFan's background threads each kept a
      // glibc malloc arena, 14-20 MiB of RSS under load, for 0-7 % of CPU per
      // request (docs/performance.md has the measurements and the levers not taken).
      // No concurrent Sparkplug: with it, process.exit() can deadlock Node 24
      // when a background baseline compile waits for a GC that the exiting main
      // thread never runs (nodejs/node#54918). Without both flags no V8 compile
      // job runs off the main thread, so the plugin's exit cannot hang that way.
      execArgv: [`--max-old-space-size=${maxHeapMb}`, "--max-semi-space-size=2", "--no-concurrent-recompilation", "--no-concurrent-sparkplug"],
      assets,
      // Vault hands plugins its whole environment, so NODE_OPTIONS must never
      // apply ("cli" ignores it). "cli" honours --node-options on the command
      // line, which only the catalog entry (the operator) or our own heap re-exec
      // can pass.
      execArgvExtension: "cli",
    }),
  );
  execFileSync(nodeBinary, ["--experimental-sea-config", path.basename(seaConfig)], { cwd: dir, stdio: ["ignore", "ignore", "inherit"] });

  copyFileSync(nodeBinary, executable);
  chmodSync(executable, 0o755);
  // The npm node binary keeps its symbol tables (.symtab, .strtab, some .debug_*:
  // 17 MB of 127). Nothing loads them at run time, but the host hashes the whole
  // file at every plugin launch (docs/performance.md). Stripped before the blob is
  // injected: stripping an injected executable breaks it. binutils' strip is
  // deterministic, so the build stays reproducible.
  execFileSync("strip", ["--strip-all", executable], { stdio: ["ignore", "ignore", "inherit"] });
  const { inject } = require("postject");
  await inject(executable, "NODE_SEA_BLOB", readFileSync(blob), {
    sentinelFuse: "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2",
  });
  for (const intermediate of [blob, seaConfig]) rmSync(intermediate);
}
