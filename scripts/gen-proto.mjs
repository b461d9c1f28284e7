// Regenerates src/generated/ (committed) from proto/: static TypeScript codecs
// and grpc-js service definitions (ts-proto), plus descriptors.binpb, which the
// conformance host compares with the SDKs' compiled descriptors.
//
// A maintainer step, needed only when proto/ changes: it needs `protoc`
// (Debian/Ubuntu: apt-get install protobuf-compiler). Users building the plugin
// never run it, so `npm ci && npm run build` needs nothing beyond npm. CI runs
// it with --check and fails when the committed code is stale.
//
// Static codegen instead of @grpc/proto-loader: it saves ~20 ms of start-up
// (runtime.md §6.1: 43 ms vs 63 ms exec → handshake on a Node 24 SEA).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, cpSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const protoDir = path.join(root, "proto");
const target = path.join(root, "src", "generated");
const check = process.argv.includes("--check");

const TS_PROTO_OPTIONS = [
  "forceLong=bigint",
  "outputServices=grpc-js",
  "esModuleInterop=true",
  "env=node",
  "useOptionals=messages",
  "outputJsonMethods=false",
  "useDate=false",
  "exportCommonSymbols=false",
];

function protoFiles(dir) {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) return protoFiles(full);
    return entry.endsWith(".proto") ? [path.relative(protoDir, full)] : [];
  });
}

function filesUnder(dir) {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((entry) => statSync(path.join(dir, entry)).isFile())
    .sort();
}

const out = mkdtempSync(path.join(tmpdir(), "gen-proto-"));
try {
  execFileSync(
    "protoc",
    [
      `--plugin=protoc-gen-ts_proto=${path.join(root, "node_modules", ".bin", "protoc-gen-ts_proto")}`,
      `--ts_proto_out=${out}`,
      `--ts_proto_opt=${TS_PROTO_OPTIONS.join(",")}`,
      `--descriptor_set_out=${path.join(out, "descriptors.binpb")}`,
      "--include_imports",
      `--proto_path=${protoDir}`,
      ...protoFiles(protoDir).sort(),
    ],
    { cwd: root, stdio: "inherit" },
  );
  if (check) {
    const fresh = filesUnder(out);
    const committed = filesUnder(target);
    const stale = [...new Set([...fresh, ...committed])].filter(
      (file) => !fresh.includes(file) || !committed.includes(file) || !readFileSync(path.join(out, file)).equals(readFileSync(path.join(target, file))),
    );
    if (stale.length > 0) {
      process.stderr.write(`src/generated is stale; run \`npm run gen\` and commit:\n  ${stale.join("\n  ")}\n`);
      process.exit(1);
    }
    process.stderr.write("src/generated matches proto/\n");
  } else {
    rmSync(target, { recursive: true, force: true });
    cpSync(out, target, { recursive: true });
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
