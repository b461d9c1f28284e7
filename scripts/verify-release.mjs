// node scripts/verify-release.mjs <release dir> --pubkey <public key PEM>
//
// Checks a downloaded release: the Ed25519 signature of SHA256SUMS with the
// given public key, every file's sha256 against SHA256SUMS (and no file left
// unlisted), and that the SBOM describes the executable listed there. Exits 1
// naming every file that fails. The same checks with common tools are in the
// README ("Releases and verification").
import { readFileSync } from "node:fs";
import { verifyRelease } from "./lib/release.mjs";

// Every outcome sets process.exitCode and lets the script end by itself:
// process.exit() can deadlock Node 24 when a V8 background compile job is
// running (nodejs/node#54918; it hung this script in 17 of 300 runs here).
const args = process.argv.slice(2);
const keyIndex = args.indexOf("--pubkey");
const keyFile = keyIndex === -1 ? undefined : args[keyIndex + 1];
const positional = args.filter((_, index) => index !== keyIndex && index !== keyIndex + 1);
let publicKey;
if (positional.length !== 1 || keyFile === undefined) {
  process.stderr.write("usage: node scripts/verify-release.mjs <release dir> --pubkey <public key PEM>\n");
  process.exitCode = 2;
} else {
  try {
    publicKey = readFileSync(keyFile);
  } catch {
    process.stderr.write(`verify-release: cannot read the public key ${keyFile}\n`);
    process.exitCode = 2;
  }
}
if (publicKey !== undefined) {
  const problems = await verifyRelease(positional[0], publicKey);
  if (problems.length > 0) {
    process.stderr.write(`verify-release: ${positional[0]} FAILED\n${problems.map((problem) => `  ${problem}\n`).join("")}`);
    process.exitCode = 1;
  } else {
    process.stdout.write(`verify-release: ${positional[0]} OK: SHA256SUMS signed by the given key; every file matches it; the SBOM describes the executable\n`);
  }
}
