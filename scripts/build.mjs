// Builds dist/vault-plugin-secrets-nomad, a Node single-executable application
// on the pinned Node 24 binary, and dist/vault-plugin-secrets-nomad.sha256.
// Reproducible: no code cache (it changes the blob on every build, runtime.md
// §2.5), every input is pinned, and no path of the checkout enters the output
// (the SEA blob records its main script's path as given, so node runs in dist/
// with relative paths), so one commit gives one sha256 in any folder.
// Also writes dist/THIRD_PARTY_NOTICES.txt (embedded too, for --licenses) and
// dist/build-manifest.json (what is inside, for scripts/release.mjs's SBOM).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { bundledPackageKeys, describeCommit, describeNode, describePackages, renderNotices } from "./lib/bundle-inventory.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(root, "dist");
const name = "vault-plugin-secrets-nomad";
const packageJson = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
/** The runtime reads the same value (src/runtime-limits.ts). */
const DEFAULT_MAX_HEAP_MB = packageJson.config.defaultMaxHeapMb;
const require = createRequire(import.meta.url);

// The Node that runs this script is the pinned one (npm puts node_modules/.bin
// first on PATH); the blob must be injected into that same binary.
const nodeBinary = realpathSync(process.execPath);
if (!process.version.startsWith("v24.")) {
  throw new Error(`build must run on the pinned Node 24 (npm run build), not ${process.version}`);
}

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
const bundle = path.join(dist, "main.cjs");
const blob = path.join(dist, "sea-prep.blob");
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
  absWorkingDir: root,
  bundle: true,
  platform: "node",
  target: "node24",
  format: "cjs",
  // PLUGIN_BUILD_READABLE=1 leaves names and layout alone, so a --cpu-prof or
  // heap snapshot of the executable names real functions (without esbuild's
  // keepNames, which wraps every closure and would distort the profile).
  minify: process.env.PLUGIN_BUILD_READABLE !== "1",
  // Notices are collected whole into THIRD_PARTY_NOTICES.txt instead.
  legalComments: "none",
  logLevel: "warning",
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
// grpc-js requires @grpc/proto-loader (and protobufjs, ~130 KB) only inside its
// channelz and ORCA service helpers, which this plugin never registers; our
// codecs are generated. Leaving it out keeps it from being parsed at start-up.
const noRuntimeProtoLoading = {
  name: "no-runtime-proto-loading",
  setup(builder) {
    builder.onResolve({ filter: /^@grpc\/proto-loader$/ }, () => ({ path: "proto-loader", namespace: "not-bundled" }));
    builder.onLoad({ filter: /.*/, namespace: "not-bundled" }, () => ({
      contents:
        'module.exports = { loadSync() { throw new Error("@grpc/proto-loader is not bundled: this plugin uses generated codecs and no channelz/ORCA services"); } };',
      loader: "js",
    }));
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

// Paths relative to dist/, where node runs: the blob keeps the main path as given.
const seaConfig = path.join(dist, "sea-config.json");
writeFileSync(
  seaConfig,
  JSON.stringify({
    main: path.basename(bundle),
    output: path.basename(blob),
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: false,
    // A 2 MiB young-generation semi-space: V8's default grows it to 64 MiB
    // under load, which held 128 MiB of RSS for a heap of ~30 MiB live objects
    // (docs/performance.md has the measurements and the levers not taken).
    execArgv: [`--max-old-space-size=${DEFAULT_MAX_HEAP_MB}`, "--max-semi-space-size=2"],
    // Read with node:sea getAsset by src/lazy-engine.ts (the name is ENGINE_CHUNK_ASSET).
    // THIRD_PARTY_NOTICES.txt is printed by --licenses (src/main.ts).
    assets: { "engine-chunk.cjs": path.basename(engineChunk), "THIRD_PARTY_NOTICES.txt": path.basename(notices) },
    // Vault hands plugins its whole environment, so NODE_OPTIONS must never
    // apply ("cli" ignores it). "cli" honours --node-options on the command
    // line, which only the catalog entry (the operator) or our own heap re-exec
    // can pass.
    execArgvExtension: "cli",
  }),
);
execFileSync(nodeBinary, ["--experimental-sea-config", path.basename(seaConfig)], { cwd: dist, stdio: ["ignore", "ignore", "inherit"] });

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
for (const intermediate of [blob, seaConfig, engineChunk, bundle]) rmSync(intermediate);
process.stderr.write(`built ${path.relative(root, executable)}\nsha256 ${sha256}\n`);
