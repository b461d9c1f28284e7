// Runs the Nomad ACL fake as its own process, for the Go conformance host:
// prints one JSON line {"url", "managementToken"} on stdout, serves until
// stdin closes or SIGTERM. Run with the pinned Node 24 (type stripping).
// Options come from argv: --version=<nomad version> --latency-ms=<n>.
import { startNomadFake } from "./nomad-fake.ts";

const option = (name: string): string | undefined =>
  process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);

const fake = await startNomadFake({ version: option("version") ?? "2.0.5" });
const latency = Number(option("latency-ms") ?? 0);
if (latency > 0) fake.setLatency(latency);

process.stdout.write(`${JSON.stringify({ url: fake.url, managementToken: fake.managementToken })}\n`);

const stop = async () => {
  await fake.stop();
  process.exit(0);
};
process.stdin.on("end", () => void stop());
process.stdin.resume();
process.on("SIGTERM", () => void stop());
