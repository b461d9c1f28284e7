// Release artefacts from a finished `npm run build` (dist/): the versioned
// executable, a .zip of it, the CycloneDX SBOM, the third-party notices,
// SHA256SUMS, its Ed25519 signature and, on request, an OCI image layout.
// Every byte is a function of the build output and SOURCE_DATE_EPOCH: fixed
// mtimes, modes and owners, sorted entries, no wall clock, no paths, no TZ.
import { execFileSync } from "node:child_process";
import { createHash, createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import { createReadStream, createWriteStream, chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import tarStream from "tar-stream";
import yazl from "yazl";

export const PLUGIN_NAME = "vault-plugin-secrets-nomad";
export const PLATFORM = "linux_amd64";
export const SUMS_FILE = "SHA256SUMS";
export const SIGNATURE_FILE = "SHA256SUMS.sig";
export const OCI_DIR = "oci";
/** The image's source label: package.json "repository", the one place to change it. Read when an image is written. */
export function sourceUrl() {
  const packageJson = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  return typeof packageJson.repository === "string" ? packageJson.repository : packageJson.repository.url;
}
/** Where the signing key comes from: a PEM file, or the PEM text itself (CI secrets). */
export const KEY_FILE_ENV = "RELEASE_SIGNING_KEY_FILE";
export const KEY_ENV = "RELEASE_SIGNING_KEY";

export const artefactNames = (version) => {
  const base = `${PLUGIN_NAME}_${version}_${PLATFORM}`;
  return { executable: base, zip: `${base}.zip`, sbom: `${base}.cdx.json`, notices: `${PLUGIN_NAME}_${version}_THIRD_PARTY_NOTICES.txt` };
};

const git = (root, ...args) => execFileSync("git", args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

/** Files git would not reproduce from HEAD: modified, staged, deleted or untracked (ignored ones aside). */
export function uncleanFiles(root) {
  return git(root, "status", "--porcelain=v1", "--untracked-files=all")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => line.slice(3));
}

/** SOURCE_DATE_EPOCH if the caller set one, else the commit time of HEAD (seconds). */
export function sourceDateEpoch(root, env = process.env) {
  const given = env.SOURCE_DATE_EPOCH;
  if (given !== undefined && given !== "") {
    if (!/^\d+$/.test(given)) throw new Error(`SOURCE_DATE_EPOCH must be whole seconds since 1970, not ${JSON.stringify(given)}`);
    return Number(given);
  }
  return Number(git(root, "log", "-1", "--format=%ct", "HEAD").trim());
}

export async function sha256File(file) {
  const hash = createHash("sha256");
  await pipeline(createReadStream(file), hash);
  return hash.digest("hex");
}

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

/**
 * The operator's Ed25519 private key, or undefined when none is configured.
 * Errors never quote the key or its file's content.
 */
export function loadSigningKey(env = process.env) {
  const file = env[KEY_FILE_ENV];
  const text = env[KEY_ENV];
  if ((file === undefined || file === "") && (text === undefined || text === "")) return undefined;
  if (file && text) throw new Error(`set ${KEY_FILE_ENV} or ${KEY_ENV}, not both`);
  let pem;
  try {
    pem = file ? readFileSync(file) : Buffer.from(text, "utf8");
  } catch {
    throw new Error(`${KEY_FILE_ENV}: cannot read ${file}`);
  }
  let key;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new Error(`${file ? KEY_FILE_ENV : KEY_ENV} is not a PEM private key (expected Ed25519, e.g. \`openssl genpkey -algorithm ed25519\`)`);
  }
  if (key.asymmetricKeyType !== "ed25519") throw new Error(`the signing key is ${key.asymmetricKeyType}, not Ed25519`);
  return key;
}

/** SHA-256 of the public key's DER (SPKI): names the key without showing anything secret. */
export function keyFingerprint(key) {
  const spki = createPublicKey(key).export({ type: "spki", format: "der" });
  return `SHA256:${createHash("sha256").update(spki).digest("base64")}`;
}

/** The CycloneDX 1.6 SBOM of the executable: every bundled npm package and the embedded Node. */
export function renderSbom({ manifest, executableName, executableSha256, epoch }) {
  const pluginRef = `pkg:npm/${PLUGIN_NAME}@${manifest.version}`;
  const npmPurl = (name, version) => `pkg:npm/${name.startsWith("@") ? `%40${name.slice(1)}` : name}@${version}`;
  const integrityHash = (integrity) => {
    const [algorithm, base64] = integrity.split(/-(.*)/s);
    const alg = { sha512: "SHA-512", sha384: "SHA-384", sha256: "SHA-256", sha1: "SHA-1" }[algorithm];
    if (alg === undefined) throw new Error(`unknown integrity algorithm ${algorithm}`);
    return { alg, content: Buffer.from(base64, "base64").toString("hex") };
  };
  const license = (expression) => (/\s/.test(expression) || expression.startsWith("(") ? [{ expression }] : [{ license: { id: expression } }]);
  const packages = manifest.packages.map((item) => ({
    type: "library",
    "bom-ref": npmPurl(item.name, item.version),
    name: item.name,
    version: item.version,
    purl: npmPurl(item.name, item.version),
    licenses: license(item.license),
    hashes: [integrityHash(item.integrity)],
    properties: [{ name: "npm:integrity", value: item.integrity }],
  }));
  const node = {
    type: "platform",
    "bom-ref": `pkg:generic/node@${manifest.node.version}`,
    name: "node",
    version: manifest.node.version,
    purl: `pkg:generic/node@${manifest.node.version}`,
    description: `Node.js runtime the single executable is built on (from npm ${manifest.node.distribution})`,
    licenses: license(manifest.node.license),
    hashes: [{ alg: "SHA-256", content: manifest.node.sha256 }],
  };
  const components = [...packages, node];
  const bom = {
    bomFormat: "CycloneDX",
    specVersion: "1.6",
    // Derived from the executable's hash, so one build gives one serial number.
    serialNumber: `urn:uuid:${uuidFrom(executableSha256)}`,
    version: 1,
    metadata: {
      timestamp: new Date(epoch * 1000).toISOString().replace(/\.000Z$/, "Z"),
      tools: { components: [{ type: "application", name: "scripts/release.mjs", description: "from dist/build-manifest.json (esbuild's metafiles and package-lock.json)" }] },
      component: {
        type: "application",
        "bom-ref": pluginRef,
        name: PLUGIN_NAME,
        version: manifest.version,
        purl: pluginRef,
        licenses: [{ license: { id: "MPL-2.0" } }],
        hashes: [{ alg: "SHA-256", content: executableSha256 }],
        properties: [
          { name: "file", value: executableName },
          { name: "git:commit", value: manifest.commit },
        ],
      },
    },
    components,
    dependencies: [{ ref: pluginRef, dependsOn: components.map((component) => component["bom-ref"]) }],
  };
  return `${JSON.stringify(bom, null, 2)}\n`;
}

function uuidFrom(hex) {
  const bytes = Buffer.from(hex.slice(0, 32), "hex");
  bytes[6] = (bytes[6] & 0x0f) | 0x80; // version 8: custom, derived
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const h = bytes.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A deflated zip of the executable (as the command name) and the notices, with fixed times and modes. */
async function writeZip(zipPath, entries, epoch) {
  const zip = new yazl.ZipFile();
  // yazl converts mtime to the DOS fields in local time, when the entry is
  // added: pin the zone to UTC for that moment so TZ never changes the bytes.
  const mtime = new Date(epoch * 1000);
  const savedTz = process.env.TZ;
  process.env.TZ = "UTC";
  try {
    for (const entry of entries) zip.addFile(entry.source, entry.name, { mtime, mode: entry.mode, compress: true, compressionLevel: 9 });
  } finally {
    if (savedTz === undefined) delete process.env.TZ;
    else process.env.TZ = savedTz;
  }
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(zipPath));
}

/** The OCI layer: a gzipped tar with the executable at the image root, owned by 0:0, mode 0755. */
async function writeLayer(layerPath, executable, binaryName, epoch) {
  const pack = tarStream.pack();
  const gzip = createGzip({ level: 9 });
  const written = pipeline(pack, gzip, createWriteStream(layerPath));
  const diffId = createHash("sha256");
  pack.on("data", (chunk) => diffId.update(chunk));
  const size = statSync(executable).size;
  await new Promise((resolve, reject) => {
    const entry = pack.entry({ name: binaryName, size, mode: 0o755, mtime: new Date(epoch * 1000), uid: 0, gid: 0, uname: "root", gname: "root", type: "file" }, (error) => (error ? reject(error) : resolve()));
    pipeline(createReadStream(executable), entry).catch(reject);
  });
  pack.finalize();
  await written;
  return `sha256:${diffId.digest("hex")}`;
}

/** An OCI image layout (oci-layout, index.json, blobs/) tagged with the version. */
async function writeOciLayout(ociDir, { executable, binaryName, version, commit, epoch }) {
  const blobs = path.join(ociDir, "blobs", "sha256");
  mkdirSync(blobs, { recursive: true });
  const layerTemp = path.join(ociDir, "layer.tar.gz");
  const diffId = await writeLayer(layerTemp, executable, binaryName, epoch);
  const layerDigest = await sha256File(layerTemp);
  const layerSize = statSync(layerTemp).size;
  copyFileSync(layerTemp, path.join(blobs, layerDigest));
  rmSync(layerTemp);
  const created = new Date(epoch * 1000).toISOString().replace(/\.000Z$/, "Z");
  const labels = {
    "org.opencontainers.image.source": sourceUrl(),
    "org.opencontainers.image.version": version,
    "org.opencontainers.image.revision": commit,
    "org.opencontainers.image.licenses": "MPL-2.0",
    "org.opencontainers.image.title": PLUGIN_NAME,
    "org.opencontainers.image.created": created,
  };
  const writeBlob = (object) => {
    const bytes = Buffer.from(JSON.stringify(object));
    const digest = sha256(bytes);
    writeFileSync(path.join(blobs, digest), bytes);
    return { digest: `sha256:${digest}`, size: bytes.length };
  };
  const config = writeBlob({
    created,
    architecture: "amd64",
    os: "linux",
    config: { Entrypoint: [`/${binaryName}`], Labels: labels },
    rootfs: { type: "layers", diff_ids: [diffId] },
    history: [{ created, created_by: "scripts/release.mjs --oci" }],
  });
  const manifest = writeBlob({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: `sha256:${layerDigest}`, size: layerSize }],
    annotations: labels,
  });
  writeFileSync(path.join(ociDir, "oci-layout"), `${JSON.stringify({ imageLayoutVersion: "1.0.0" })}\n`);
  writeFileSync(
    path.join(ociDir, "index.json"),
    `${JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifest, platform: { architecture: "amd64", os: "linux" }, annotations: { "org.opencontainers.image.ref.name": version } }],
    })}\n`,
  );
  return { manifestDigest: manifest.digest, layerDigest: `sha256:${layerDigest}` };
}

/** Every regular file under dir, as sorted "/"-separated paths relative to it. */
export function listFiles(dir, prefix = "") {
  const files = [];
  for (const entry of readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    const relative = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) files.push(...listFiles(dir, relative));
    else files.push(relative);
  }
  return files.sort();
}

/** `sha256sum` format: "<hex>  <name>\n", sorted by name. */
export async function renderSums(outDir, names) {
  const lines = [];
  for (const name of [...names].sort()) lines.push(`${await sha256File(path.join(outDir, name))}  ${name}\n`);
  return lines.join("");
}

/**
 * Writes the release into outDir (emptied first) from a build's dist/.
 * Returns what was written; signs SHA256SUMS only when a key is given.
 */
export async function writeRelease({ distDir, outDir, epoch, signingKey, oci = false }) {
  const manifest = JSON.parse(readFileSync(path.join(distDir, "build-manifest.json"), "utf8"));
  const names = artefactNames(manifest.version);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const built = path.join(distDir, PLUGIN_NAME);
  const executable = path.join(outDir, names.executable);
  copyFileSync(built, executable);
  chmodSync(executable, 0o755);
  const executableSha256 = await sha256File(executable);
  if (executableSha256 !== manifest.sha256) throw new Error(`${built} does not match dist/build-manifest.json's sha256: rebuild`);
  copyFileSync(path.join(distDir, "THIRD_PARTY_NOTICES.txt"), path.join(outDir, names.notices));
  writeFileSync(path.join(outDir, names.sbom), renderSbom({ manifest, executableName: names.executable, executableSha256, epoch }));
  await writeZip(
    path.join(outDir, names.zip),
    [
      { source: executable, name: PLUGIN_NAME, mode: 0o100755 },
      { source: path.join(outDir, names.notices), name: "THIRD_PARTY_NOTICES.txt", mode: 0o100644 },
    ],
    epoch,
  );
  let image;
  // Tagged like the plugin reports its version (and a catalog entry is registered): v<semver>.
  if (oci) image = await writeOciLayout(path.join(outDir, OCI_DIR), { executable, binaryName: PLUGIN_NAME, version: `v${manifest.version}`, commit: manifest.commit, epoch });
  const covered = listFiles(outDir);
  const sums = await renderSums(outDir, covered);
  writeFileSync(path.join(outDir, SUMS_FILE), sums);
  if (signingKey !== undefined) writeFileSync(path.join(outDir, SIGNATURE_FILE), sign(null, Buffer.from(sums), signingKey));
  return { manifest, names, executableSha256, image: image && { ...image, tag: `v${manifest.version}` }, signed: signingKey !== undefined, files: listFiles(outDir) };
}

/**
 * Checks a release folder: the signature of SHA256SUMS with the public key,
 * every listed file's sum, no file left unlisted, and the SBOM naming the
 * executable's sha256. Returns the problems found, each naming its file.
 */
export async function verifyRelease(dir, publicKeyPem) {
  const problems = [];
  const read = (name) => {
    try {
      return readFileSync(path.join(dir, name));
    } catch {
      problems.push(`${name}: missing`);
      return undefined;
    }
  };
  const sums = read(SUMS_FILE);
  const signature = read(SIGNATURE_FILE);
  if (signature === undefined) problems.push(`${SIGNATURE_FILE}: this release is unsigned; nothing vouches for ${SUMS_FILE}`);
  if (sums === undefined) return problems;
  if (signature !== undefined) {
    let publicKey;
    try {
      publicKey = createPublicKey(publicKeyPem);
    } catch {
      problems.push("the public key is not a PEM public key");
    }
    if (publicKey !== undefined && !verify(null, sums, publicKey, signature)) {
      problems.push(`${SIGNATURE_FILE}: not a valid signature of ${SUMS_FILE} by this key (either file was changed, or another key signed it)`);
    }
  }
  const listed = new Map();
  for (const [index, line] of sums.toString("utf8").split("\n").entries()) {
    if (line === "") continue;
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (match === null || match[2].split("/").includes("..") || path.isAbsolute(match[2])) {
      problems.push(`${SUMS_FILE}: line ${index + 1} is not "<sha256>  <file>"`);
      continue;
    }
    listed.set(match[2], match[1]);
  }
  for (const [name, expected] of listed) {
    let actual;
    try {
      actual = await sha256File(path.join(dir, name));
    } catch {
      problems.push(`${name}: listed in ${SUMS_FILE} but missing`);
      continue;
    }
    if (actual !== expected) problems.push(`${name}: sha256 ${actual} does not match ${SUMS_FILE} (${expected})`);
  }
  for (const name of listFiles(dir)) {
    if (name !== SUMS_FILE && name !== SIGNATURE_FILE && !listed.has(name)) problems.push(`${name}: not covered by ${SUMS_FILE}`);
  }
  const sbomName = [...listed.keys()].find((name) => name.endsWith(".cdx.json"));
  if (sbomName === undefined) problems.push(`${SUMS_FILE}: lists no CycloneDX SBOM (*.cdx.json)`);
  else {
    try {
      const bom = JSON.parse(readFileSync(path.join(dir, sbomName), "utf8"));
      const component = bom.metadata?.component;
      const file = component?.properties?.find((property) => property.name === "file")?.value;
      const hash = component?.hashes?.find((entry) => entry.alg === "SHA-256")?.content;
      if (bom.bomFormat !== "CycloneDX") problems.push(`${sbomName}: not a CycloneDX document`);
      else if (file === undefined || !listed.has(file)) problems.push(`${sbomName}: names no executable listed in ${SUMS_FILE}`);
      else if (hash !== listed.get(file)) problems.push(`${sbomName}: describes an executable with sha256 ${hash}, not ${file} (${listed.get(file)})`);
    } catch {
      problems.push(`${sbomName}: not valid JSON`);
    }
  }
  return problems;
}
