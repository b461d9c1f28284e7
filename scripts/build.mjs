// Builds dist/vault-plugin-secrets-nomad, a Node single-executable application
// on the pinned Node 24 binary, and dist/vault-plugin-secrets-nomad.sha256.
// Reproducible: no code cache (it changes the blob on every build, runtime.md
// §2.5), every input is pinned, and no path of the checkout enters the output
// (the SEA blob records its main script's path as given, so node runs in dist/
// with relative paths), so one commit gives one sha256 in any folder.
// Also writes dist/THIRD_PARTY_NOTICES.txt (embedded too, for --licenses) and
// dist/build-manifest.json (what is inside, for scripts/release.mjs's SBOM).
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { BUNDLE_OPTIONS, noRuntimeProtoLoading } from "./lib/bundle-options.mjs";
import { packageSea } from "./lib/sea.mjs";
import { bundledPackageKeys, describeCommit, describeNode, describePackages, renderNotices } from "./lib/bundle-inventory.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(root, "dist");
const name = "vault-plugin-secrets-nomad";
const packageJson = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
/** The runtime reads the same value (src/runtime-limits.ts). */
const DEFAULT_MAX_HEAP_MB = packageJson.config.defaultMaxHeapMb;

// The Node that runs this script is the pinned one (npm puts node_modules/.bin
// first on PATH); the blob must be injected into that same binary.
const nodeBinary = realpathSync(process.execPath);
if (!process.version.startsWith("v24.")) {
  throw new Error(`build must run on the pinned Node 24 (npm run build), not ${process.version}`);
}

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
const bundle = path.join(dist, "main.cjs");
const executable = path.join(dist, name);

// The engine is bundled on its own and embedded in the main script as a string,
// evaluated after the handshake (see src/lazy-engine.ts). Its imports of these
// modules resolve to the main bundle's instances.
const src = path.join(root, "src");
const SHARED = ["shared/errors.ts", "shared/log.ts", "shared/metrics.ts", "shared/redact.ts", "framework/logical.ts"];
const sharedWithMain = {
  name: "shared-with-main",
  setup(builder) {
    builder.onResolve({ filter: /^\./ }, (args) => {
      const relative = path.relative(src, path.resolve(args.resolveDir, args.path));
      return SHARED.includes(relative) ? { path: `shared:${relative}`, external: true } : undefined;
    });
  },
};
const commit = describeCommit(root);
const common = {
  ...BUNDLE_OPTIONS,
  absWorkingDir: root,
  metafile: true,
  // Read by src/version.ts.
  define: { __PLUGIN_COMMIT__: JSON.stringify(commit) },
};
const engine = await build({
  ...common,
  entryPoints: [path.join(src, "engine", "nomad", "backend.ts")],
  write: false,
  outfile: "engine-chunk.cjs",
  plugins: [sharedWithMain],
});
const engineChunk = path.join(dist, "engine-chunk.cjs");
writeFileSync(engineChunk, engine.outputFiles[0].contents);

// The main script must not contain the engine a second time.
const engineOnlyInChunk = {
  name: "engine-only-in-chunk",
  setup(builder) {
    builder.onResolve({ filter: /engine\/nomad\/backend\.ts$/ }, () => ({ path: "engine", namespace: "engine-chunk" }));
    builder.onLoad({ filter: /.*/, namespace: "engine-chunk" }, () => ({ contents: "export const nomadBackendFactory = undefined;", loader: "js" }));
  },
};
const main = await build({
  ...common,
  entryPoints: [path.join(src, "main.ts")],
  outfile: bundle,
  plugins: [engineOnlyInChunk, noRuntimeProtoLoading],
});

const packages = describePackages(root, bundledPackageKeys([engine.metafile, main.metafile]));
const node = describeNode(nodeBinary);
const notices = path.join(dist, "THIRD_PARTY_NOTICES.txt");
writeFileSync(notices, renderNotices(name, packages, node));

// Read with node:sea getAsset by src/lazy-engine.ts (the name is ENGINE_CHUNK_ASSET).
// THIRD_PARTY_NOTICES.txt is printed by --licenses (src/main.ts).
await packageSea({
  nodeBinary,
  dir: dist,
  mainScript: bundle,
  executable,
  assets: { "engine-chunk.cjs": path.basename(engineChunk), "THIRD_PARTY_NOTICES.txt": path.basename(notices) },
  maxHeapMb: DEFAULT_MAX_HEAP_MB,
});

const sha256 = createHash("sha256").update(readFileSync(executable)).digest("hex");
writeFileSync(path.join(dist, `${name}.sha256`), `${sha256}\n`);
const manifest = {
  name,
  version: packageJson.version,
  commit,
  sha256,
  node: { version: node.version, distribution: node.distribution, license: node.license, sha256: createHash("sha256").update(readFileSync(nodeBinary)).digest("hex") },
  packages: packages.map(({ notices: _notices, ...described }) => described),
};
writeFileSync(path.join(dist, "build-manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
for (const intermediate of [engineChunk, bundle]) rmSync(intermediate);
process.stderr.write(`built ${path.relative(root, executable)}\nsha256 ${sha256}\n`);
