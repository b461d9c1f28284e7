// npm run release [-- --oci] [--push <registry/repo:tag> [--insecure-registry]] [--check]
//
// Builds from a clean tree and writes dist/release/ (see scripts/lib/release.mjs).
// Signs SHA256SUMS with the operator's Ed25519 key from RELEASE_SIGNING_KEY_FILE
// (a PEM file) or RELEASE_SIGNING_KEY (the PEM text); without one the release
// is unsigned and says so. No network: the build uses only node_modules.
//
// --check: clones HEAD into two folders with different path lengths, installs
// with npm ci, releases in each with a different umask and TZ and the
// same SOURCE_DATE_EPOCH, and compares every file byte for byte. `npm ci
// --prefer-offline` is the one step that may reach the registry (for packages
// missing from the npm cache); the build and release steps never do.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { keyFingerprint, listFiles, loadSigningKey, OCI_DIR, sha256File, SIGNATURE_FILE, sourceDateEpoch, SUMS_FILE, uncleanFiles, writeRelease } from "./lib/release.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const option = (name) => args.includes(name);
const valueOf = (name) => {
  const index = args.indexOf(name);
  if (index === -1) return undefined;
  const value = args[index + 1];
  if (value === undefined || value.startsWith("--")) fail(`${name} needs a value`);
  return value;
};
const known = new Set(["--oci", "--push", "--insecure-registry", "--check"]);

/** A failure the script reports in one line; anything else is a bug and keeps its stack. */
class ReleaseFailure extends Error {}
function fail(message) {
  throw new ReleaseFailure(message);
}

const say = (line) => process.stderr.write(`${line}\n`);
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

let epoch;
let head;
let signingKey;

async function main() {
  for (const [index, arg] of args.entries()) {
    if (arg.startsWith("--") && !known.has(arg)) fail(`unknown option ${arg}`);
    if (!arg.startsWith("--") && args[index - 1] !== "--push") fail(`unexpected argument ${arg}`);
  }
  const unclean = uncleanFiles(root);
  if (unclean.length > 0) {
    fail(`the tree is not clean; a release is built from a commit only. Commit or remove:\n${unclean.map((file) => `  ${file}`).join("\n")}`);
  }
  epoch = sourceDateEpoch(root);
  head = execFileSync("git", ["rev-parse", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
  try {
    signingKey = loadSigningKey();
  } catch (error) {
    fail(error.message);
  }
  if (option("--check")) await check();
  else await release();
}

async function release() {
  const push = valueOf("--push");
  const oci = option("--oci") || push !== undefined;
  say(`release: building ${head} with SOURCE_DATE_EPOCH=${epoch} (${new Date(epoch * 1000).toISOString()})`);
  const build = spawnSync(npm, ["run", "--silent", "build"], { cwd: root, stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) } });
  if (build.status !== 0) fail("npm run build failed");
  const distDir = path.join(root, "dist");
  const manifest = JSON.parse(readFileSync(path.join(distDir, "build-manifest.json"), "utf8"));
  if (manifest.commit !== head) fail(`dist/build-manifest.json says commit ${manifest.commit}, HEAD is ${head}`);
  const outDir = path.join(distDir, "release");
  const result = await writeRelease({ distDir, outDir, epoch, signingKey, oci });
  for (const file of result.files) say(`  dist/release/${file}`);
  say(`sha256 of ${result.names.executable}: ${result.executableSha256}`);
  if (result.image) say(`OCI image: dist/release/${OCI_DIR} tag ${result.image.tag}, manifest ${result.image.manifestDigest}`);
  if (result.signed) say(`SIGNED: ${SIGNATURE_FILE} is an Ed25519 signature of ${SUMS_FILE} by key ${keyFingerprint(signingKey)}`);
  else say(`UNSIGNED: no signing key (RELEASE_SIGNING_KEY_FILE or RELEASE_SIGNING_KEY), so no ${SIGNATURE_FILE}. Do not publish this as a signed release.`);
  if (push !== undefined) {
    const source = `oci:${path.join(outDir, OCI_DIR)}:${result.image.tag}`;
    const copy = ["copy", "--preserve-digests", ...(option("--insecure-registry") ? ["--dest-tls-verify=false"] : []), source, `docker://${push}`];
    say(`release: skopeo ${copy.join(" ")}`);
    const pushed = spawnSync("skopeo", copy, { stdio: ["ignore", "inherit", "inherit"] });
    if (pushed.error) fail(`skopeo is needed for --push: ${pushed.error.message}`);
    if (pushed.status !== 0) fail(`skopeo copy to ${push} failed`);
    say(`pushed ${push} (manifest ${result.image.manifestDigest})`);
  }
}

async function check() {
  const work = mkdtempSync(path.join(tmpdir(), "release-check-"));
  const builds = [
    { folder: path.join(work, "a"), umask: "022", tz: "UTC" },
    { folder: path.join(work, "a-much-longer-folder-name-to-move-every-path", "checkout"), umask: "077", tz: "Pacific/Kiritimati" },
  ];
  try {
    for (const build of builds) {
      say(`\n=== --check: ${build.folder} (umask ${build.umask}, TZ=${build.tz}, SOURCE_DATE_EPOCH=${epoch})`);
      execFileSync("git", ["clone", "--quiet", "--no-hardlinks", root, build.folder], { stdio: "inherit" });
      execFileSync("git", ["checkout", "--quiet", "--detach", head], { cwd: build.folder, stdio: "inherit" });
      const script = `umask ${build.umask} && npm ci --prefer-offline --no-audit --no-fund --loglevel=error && npm run --silent release -- --oci`;
      const run = spawnSync("sh", ["-c", script], { cwd: build.folder, stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, TZ: build.tz, SOURCE_DATE_EPOCH: String(epoch) } });
      if (run.status !== 0) fail(`--check: the release in ${build.folder} failed`);
    }
    const [first, second] = builds.map((build) => path.join(build.folder, "dist", "release"));
    const firstFiles = listFiles(first);
    const secondFiles = listFiles(second);
    let differences = 0;
    for (const name of [...new Set([...firstFiles, ...secondFiles])].sort()) {
      if (!existsSync(path.join(first, name)) || !existsSync(path.join(second, name))) {
        say(`DIFFERENT ${name}: only in ${existsSync(path.join(first, name)) ? "the first" : "the second"} build`);
        differences += 1;
        continue;
      }
      const [a, b] = [await sha256File(path.join(first, name)), await sha256File(path.join(second, name))];
      const same = a === b;
      say(`${same ? "same     " : "DIFFERENT"} ${a}${same ? "" : ` vs ${b}`}  ${name}`);
      if (!same) differences += 1;
    }
    if (differences > 0) fail(`--check: ${differences} file(s) differ between the two builds`);
    say(`--check: all ${firstFiles.length} files byte-identical across both builds${signingKey ? ` (including ${SIGNATURE_FILE})` : ""}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// The script ends by itself with process.exitCode set, never through
// process.exit(): that can deadlock Node 24 while a V8 background compile job
// runs (nodejs/node#54918), and it would skip the clean-up in check()'s finally.
try {
  await main();
} catch (error) {
  if (!(error instanceof ReleaseFailure)) throw error;
  process.stderr.write(`release: ${error.message}\n`);
  process.exitCode = 1;
}
