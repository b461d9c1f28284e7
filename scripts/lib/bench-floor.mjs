// Builds the runtime's floor (test/support/floor/main.ts): bundled as
// scripts/build.mjs bundles the plugin (the same BUNDLE_OPTIONS and plugin)
// and packaged by the same packageSea, on the same pinned Node binary.
import { mkdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import path from "node:path";
import { build } from "esbuild";
import { BUNDLE_OPTIONS, noRuntimeProtoLoading } from "./bundle-options.mjs";
import { packageSea } from "./sea.mjs";

export const FLOOR_NAME = "vault-plugin-floor";

/** Returns the executable's path in `outDir`; the caller removes `outDir`. */
export async function buildFloor({ root, outDir, nodeBinary = realpathSync(process.execPath) }) {
  const packageJson = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
  mkdirSync(outDir, { recursive: true });
  const bundle = path.join(outDir, "floor.cjs");
  await build({
    ...BUNDLE_OPTIONS,
    absWorkingDir: root,
    entryPoints: [path.join(root, "test", "support", "floor", "main.ts")],
    outfile: bundle,
    plugins: [noRuntimeProtoLoading],
  });
  const executable = path.join(outDir, FLOOR_NAME);
  await packageSea({ nodeBinary, dir: outDir, mainScript: bundle, executable, assets: {}, maxHeapMb: packageJson.config.defaultMaxHeapMb });
  rmSync(bundle);
  return executable;
}
