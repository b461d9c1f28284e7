// The release as an operator meets it: a release made from the build with a
// throwaway key verifies, with our script and with sha256sum/openssl; one
// changed byte anywhere is refused naming the file; an unsigned release never
// passes as signed; the SBOM agrees with package-lock.json and the executable;
// the packaging gives the same bytes under another TZ; a dirty tree is refused.
// Needs `npm run build` first (the README's first command). One real release
// is written (about half a minute of zip and gzip) and reused.
import { execFileSync, spawnSync, type SpawnSyncOptionsWithStringEncoding, type SpawnSyncReturns } from "node:child_process";
import { createHash, generateKeyPairSync, type KeyObject } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listFiles, loadSigningKey, type Release, SIGNATURE_FILE, SUMS_FILE, uncleanFiles, verifyRelease, writeRelease } from "../../scripts/lib/release.mjs";

const root = path.resolve(import.meta.dirname, "..", "..");
const dist = path.join(root, "dist");
if (!existsSync(path.join(dist, "build-manifest.json"))) throw new Error(`${dist}/build-manifest.json is missing: run \`npm run build\` first`);

/** Writing the release (zip and gzip of the executable) on saturated cores. */
const BUILD_TIMEOUT = 900_000;
/** One check of the written release: seconds when idle, far less than this when saturated. */
const CHECK_TIMEOUT = 300_000;
/** A child that has not exited by then is killed and fails its test, naming it: a hung child must not hang the run. */
const CHILD_TIMEOUT_MS = 120_000;
const work = mkdtempSync(path.join(tmpdir(), "release-test-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function throwawayKey(): { privateKey: KeyObject; publicPem: string; publicFile: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  const publicFile = path.join(work, `pub-${createHash("sha256").update(publicPem).digest("hex").slice(0, 8)}.pem`);
  writeFileSync(publicFile, publicPem);
  return { privateKey, publicPem, publicFile };
}

const hasTool = (command: string, args: string[]) => spawnSync(command, args, { stdio: "ignore", timeout: CHILD_TIMEOUT_MS }).status === 0;

function runChild(command: string, args: string[], options: Omit<SpawnSyncOptionsWithStringEncoding, "encoding"> = {}): SpawnSyncReturns<string> {
  const run = spawnSync(command, args, { ...options, encoding: "utf8", timeout: CHILD_TIMEOUT_MS, killSignal: "SIGKILL" });
  if (run.error !== undefined) throw new Error(`${path.basename(command)} ${args.map((arg) => path.basename(arg)).join(" ")}: ${run.error.message}`);
  return run;
}

/** Flips one byte of the file, runs the check, and puts the byte back. */
async function withFlippedByte<T>(file: string, offset: number, check: () => Promise<T>): Promise<T> {
  const original = readFileSync(file);
  const changed = Buffer.from(original);
  const at = Math.min(offset, changed.length - 1);
  changed[at] = changed[at]! ^ 0x01;
  writeFileSync(file, changed);
  try {
    return await check();
  } finally {
    writeFileSync(file, original);
  }
}

describe("a release built from dist/ with a throwaway key", () => {
  const outDir = path.join(work, "release");
  const key = throwawayKey();
  let release: Release;
  /** The operator's command: scripts/verify-release.mjs on the written release with the public key. */
  const runVerifyScript = () => runChild(process.execPath, [path.join(root, "scripts", "verify-release.mjs"), outDir, "--pubkey", key.publicFile]);

  beforeAll(async () => {
    release = await writeRelease({ distDir: dist, outDir, epoch: 1_750_000_000, signingKey: key.privateKey, oci: true });
  }, BUILD_TIMEOUT);

  it("holds the versioned executable, zip, SBOM, notices, OCI layout, SHA256SUMS and its signature", () => {
    const version = release.manifest.version;
    const base = `vault-plugin-secrets-nomad_${version}_linux_amd64`;
    expect(release.files).toEqual(expect.arrayContaining([base, `${base}.zip`, `${base}.cdx.json`, `vault-plugin-secrets-nomad_${version}_THIRD_PARTY_NOTICES.txt`, SUMS_FILE, SIGNATURE_FILE, "oci/index.json", "oci/oci-layout"]));
    expect(readFileSync(path.join(outDir, base)).equals(readFileSync(path.join(dist, "vault-plugin-secrets-nomad")))).toBe(true);
    const sums = readFileSync(path.join(outDir, SUMS_FILE), "utf8");
    expect(sums).toMatch(/^([0-9a-f]{64} {2}\S+\n)+$/);
    expect(sums.split("\n").filter(Boolean)).toHaveLength(release.files.length - 2);
  });

  it("verifies with scripts/verify-release.mjs and the given public key", async () => {
    expect(await verifyRelease(outDir, key.publicPem)).toEqual([]);
    const run = runVerifyScript();
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("OK");
  }, CHECK_TIMEOUT);

  it.runIf(hasTool("sha256sum", ["--version"]) && hasTool("openssl", ["version"]))("verifies with sha256sum -c and openssl pkeyutl (the README's commands)", () => {
    const sums = runChild("sha256sum", ["-c", SUMS_FILE], { cwd: outDir });
    expect(sums.status).toBe(0);
    expect(sums.stdout).not.toContain("FAILED");
    const signature = runChild("openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", key.publicFile, "-rawin", "-in", SUMS_FILE, "-sigfile", SIGNATURE_FILE], { cwd: outDir });
    expect(signature.stdout).toContain("Signature Verified Successfully");
    expect(signature.status).toBe(0);
  }, CHECK_TIMEOUT);

  it("is refused under another key, naming the signature", async () => {
    const other = throwawayKey();
    expect(await verifyRelease(outDir, other.publicPem)).toEqual([expect.stringMatching(new RegExp(`^${SIGNATURE_FILE}: not a valid signature of ${SUMS_FILE}`))]);
  }, CHECK_TIMEOUT);

  it("refuses one changed byte in any artefact, naming the file", async () => {
    const artefacts = release.files.filter((name) => name !== SUMS_FILE && name !== SIGNATURE_FILE);
    for (const name of artefacts) {
      const problems = await withFlippedByte(path.join(outDir, name), 4096, () => verifyRelease(outDir, key.publicPem));
      expect(problems, name).toContainEqual(expect.stringMatching(new RegExp(`^${name.replaceAll(".", "\\.")}: sha256 [0-9a-f]{64} does not match ${SUMS_FILE}`)));
    }
    expect(await verifyRelease(outDir, key.publicPem)).toEqual([]);
  }, CHECK_TIMEOUT);

  it("refuses a changed SHA256SUMS or signature, and the script exits 1 naming it", async () => {
    const sumsFile = path.join(outDir, SUMS_FILE);
    // Byte 0 is a hex digit of the first sum: flipping its low bit keeps the line well-formed.
    const sumsProblems = await withFlippedByte(sumsFile, 0, () => verifyRelease(outDir, key.publicPem));
    expect(sumsProblems).toContainEqual(expect.stringMatching(new RegExp(`^${SIGNATURE_FILE}: not a valid signature of ${SUMS_FILE}`)));
    const signatureFile = path.join(outDir, SIGNATURE_FILE);
    const run = await withFlippedByte(signatureFile, 10, async () =>
      runVerifyScript(),
    );
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`${SIGNATURE_FILE}: not a valid signature of ${SUMS_FILE}`);
    expect(run.stdout).toBe("");
  }, CHECK_TIMEOUT);

  it("refuses a release whose signature is gone as unsigned, and a file SHA256SUMS does not cover", async () => {
    const signatureFile = path.join(outDir, SIGNATURE_FILE);
    renameSync(signatureFile, `${signatureFile}.away`);
    try {
      expect(await verifyRelease(outDir, key.publicPem)).toContainEqual(expect.stringMatching(/unsigned/));
    } finally {
      renameSync(`${signatureFile}.away`, signatureFile);
    }
    const stray = path.join(outDir, "extra.txt");
    writeFileSync(stray, "not from the release\n");
    try {
      expect(await verifyRelease(outDir, key.publicPem)).toEqual([`extra.txt: not covered by ${SUMS_FILE}`]);
    } finally {
      rmSync(stray);
    }
  }, CHECK_TIMEOUT);

  it("has an SBOM that agrees with package-lock.json, package.json and the executable's --version", () => {
    type Component = { type: string; name: string; version: string; purl: string; hashes: { alg: string; content: string }[]; licenses: ({ license: { id: string } } | { expression: string })[] };
    const bom = JSON.parse(readFileSync(path.join(outDir, release.names.sbom), "utf8")) as { bomFormat: string; specVersion: string; components: Component[]; metadata: { component: { hashes: { alg: string; content: string }[] } } };
    const lock = JSON.parse(readFileSync(path.join(root, "package-lock.json"), "utf8")) as { packages: Record<string, { version: string; integrity: string; license?: string; dev?: boolean }> };
    const packageJson = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    expect(bom.bomFormat).toBe("CycloneDX");
    expect(bom.specVersion).toBe("1.6");
    expect(bom.metadata.component.hashes).toEqual([{ alg: "SHA-256", content: release.executableSha256 }]);
    const libraries = bom.components.filter((component) => component.type === "library");
    for (const component of libraries) {
      const entry = lock.packages[`node_modules/${component.name}`];
      expect(entry, component.name).toBeDefined();
      expect(entry?.dev, `${component.name} is a devDependency`).not.toBe(true);
      expect(component.version).toBe(entry?.version);
      const [algorithm, base64] = (entry?.integrity ?? "").split("-");
      expect(algorithm).toBe("sha512");
      expect(component.hashes).toEqual([{ alg: "SHA-512", content: Buffer.from(base64 ?? "", "base64").toString("hex") }]);
      const license = component.licenses[0];
      expect(license && ("expression" in license ? license.expression : license.license.id)).toBe(entry?.license);
      expect(component.purl).toBe(`pkg:npm/${component.name.replace(/^@/, "%40")}@${entry?.version}`);
    }
    // Every runtime dependency we declare is bundled (esbuild leaves none of them out).
    for (const name of Object.keys(packageJson.dependencies)) expect(libraries.map((component) => component.name)).toContain(name);
    const node = bom.components.filter((component) => component.name === "node");
    expect(node).toHaveLength(1);
    expect(node[0]?.version).toBe(packageJson.devDependencies.node);
    const version = runChild(path.join(outDir, release.names.executable), ["--version"]).stdout;
    expect(version).toContain(`\nnode v${node[0]?.version}\n`);
  });

  it("has an OCI layout whose single layer holds the executable at the root, mode 0755, owner 0:0, fixed mtime", () => {
    const index = JSON.parse(readFileSync(path.join(outDir, "oci", "index.json"), "utf8")) as { manifests: { digest: string; annotations: Record<string, string> }[] };
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0]?.annotations["org.opencontainers.image.ref.name"]).toBe(`v${release.manifest.version}`);
    const blob = (digest: string) => readFileSync(path.join(outDir, "oci", "blobs", ...digest.split(":")));
    const manifest = JSON.parse(blob(index.manifests[0]!.digest).toString()) as { config: { digest: string }; layers: { digest: string; mediaType: string }[] };
    expect(manifest.layers).toHaveLength(1);
    const config = JSON.parse(blob(manifest.config.digest).toString()) as { os: string; architecture: string; config: { Labels: Record<string, string> } };
    expect(config).toMatchObject({ os: "linux", architecture: "amd64" });
    expect(config.config.Labels).toMatchObject({ "org.opencontainers.image.version": `v${release.manifest.version}`, "org.opencontainers.image.licenses": "MPL-2.0" });
    expect(config.config.Labels["org.opencontainers.image.source"]).toMatch(/^https:\/\//);
    const layer = path.join(outDir, "oci", "blobs", ...manifest.layers[0]!.digest.split(":"));
    const listing = runChild("tar", ["--numeric-owner", "--full-time", "-tvzf", layer], { env: { ...process.env, TZ: "UTC" } }).stdout;
    const size = statSync(path.join(outDir, release.names.executable)).size;
    expect(listing.trimEnd().split(/\s+/)).toEqual(["-rwxr-xr-x", "0/0", String(size), "2025-06-15", "15:06:40", "vault-plugin-secrets-nomad"]);
  }, CHECK_TIMEOUT);
});

describe("packaging a small build", () => {
  /** A stand-in dist/ (a few bytes instead of 128 MB) so these runs take milliseconds. */
  function fakeDist(): string {
    const fake = mkdtempSync(path.join(work, "dist-"));
    const executable = Buffer.from("#!/bin/sh\necho stand-in\n");
    writeFileSync(path.join(fake, "vault-plugin-secrets-nomad"), executable, { mode: 0o700 });
    writeFileSync(path.join(fake, "THIRD_PARTY_NOTICES.txt"), "notices\n");
    const manifest = JSON.parse(readFileSync(path.join(dist, "build-manifest.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(path.join(fake, "build-manifest.json"), JSON.stringify({ ...manifest, sha256: createHash("sha256").update(executable).digest("hex") }));
    return fake;
  }

  it("without a key writes no signature, and verify refuses it as unsigned", async () => {
    const outDir = path.join(work, "unsigned");
    const written = await writeRelease({ distDir: fakeDist(), outDir, epoch: 1_700_000_000, signingKey: undefined, oci: true });
    expect(written.signed).toBe(false);
    expect(existsSync(path.join(outDir, SIGNATURE_FILE))).toBe(false);
    expect(await verifyRelease(outDir, throwawayKey().publicPem)).toEqual([`${SIGNATURE_FILE}: missing`, `${SIGNATURE_FILE}: this release is unsigned; nothing vouches for ${SUMS_FILE}`]);
  });

  it("gives the same bytes in another folder, umask and TZ", async () => {
    const { privateKey } = throwawayKey();
    const savedTz = process.env.TZ;
    const savedUmask = process.umask();
    const outputs: string[] = [];
    try {
      for (const [tz, umask, folder] of [["UTC", 0o022, "a"], ["Pacific/Kiritimati", 0o077, "a-longer-folder/b"]] as const) {
        process.env.TZ = tz;
        process.umask(umask);
        const outDir = path.join(work, "same", folder);
        mkdirSync(path.dirname(outDir), { recursive: true });
        await writeRelease({ distDir: fakeDist(), outDir, epoch: 1_700_000_000, signingKey: privateKey, oci: true });
        outputs.push(outDir);
      }
    } finally {
      process.env.TZ = savedTz;
      process.umask(savedUmask);
    }
    const [first, second] = outputs as [string, string];
    expect(listFiles(second)).toEqual(listFiles(first));
    for (const name of listFiles(first)) expect.soft(readFileSync(path.join(second, name)).equals(readFileSync(path.join(first, name))), name).toBe(true);
  });
});

describe("the signing key", () => {
  it("is read from RELEASE_SIGNING_KEY or RELEASE_SIGNING_KEY_FILE; anything but Ed25519 is refused without quoting it", () => {
    const { privateKey } = generateKeyPairSync("ed25519");
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    expect(loadSigningKey({ RELEASE_SIGNING_KEY: pem })?.asymmetricKeyType).toBe("ed25519");
    const file = path.join(work, "key.pem");
    writeFileSync(file, pem, { mode: 0o600 });
    expect(loadSigningKey({ RELEASE_SIGNING_KEY_FILE: file })?.asymmetricKeyType).toBe("ed25519");
    expect(loadSigningKey({})).toBeUndefined();
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    expect(() => loadSigningKey({ RELEASE_SIGNING_KEY: rsa })).toThrow(/is rsa, not Ed25519/);
    const garbage = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWlzaC1ieXRlcw==\n-----END PRIVATE KEY-----\n";
    try {
      loadSigningKey({ RELEASE_SIGNING_KEY: garbage });
      expect.unreachable("a broken key was accepted");
    } catch (error) {
      expect(String(error)).toContain("is not a PEM private key");
      expect(String(error)).not.toContain("c2VjcmV0");
    }
  });
});

describe("npm run release on a dirty tree", () => {
  it("refuses before building, naming the modified and the untracked files", () => {
    const repo = mkdtempSync(path.join(work, "dirty-"));
    mkdirSync(path.join(repo, "scripts", "lib"), { recursive: true });
    cpSync(path.join(root, "scripts", "release.mjs"), path.join(repo, "scripts", "release.mjs"));
    cpSync(path.join(root, "scripts", "lib", "release.mjs"), path.join(repo, "scripts", "lib", "release.mjs"));
    writeFileSync(path.join(repo, ".gitignore"), "node_modules\n");
    writeFileSync(path.join(repo, "README.md"), "committed\n");
    symlinkSync(path.join(root, "node_modules"), path.join(repo, "node_modules"));
    const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.invalid", ...args], { cwd: repo, stdio: "pipe", timeout: CHILD_TIMEOUT_MS });
    git("init", "--quiet");
    git("add", "-A");
    git("commit", "--quiet", "-m", "x");
    expect(uncleanFiles(repo)).toEqual([]);
    writeFileSync(path.join(repo, "README.md"), "changed\n");
    writeFileSync(path.join(repo, "stray.txt"), "untracked\n");
    expect(uncleanFiles(repo)).toEqual(["README.md", "stray.txt"]);
    const run = runChild(process.execPath, [path.join(repo, "scripts", "release.mjs")], { cwd: repo });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("the tree is not clean");
    expect(run.stderr).toContain("  README.md\n");
    expect(run.stderr).toContain("  stray.txt\n");
    expect(run.stderr).not.toContain("building");
    expect(existsSync(path.join(repo, "dist"))).toBe(false);
  });
});
