// Runs the README's test command with every core saturated by busy loops in
// other processes, N times (default 5): timing-sensitive tests show up here
// long before they fail someone's CI. Not part of `npm test`.
//
//   node scripts/test-under-load.mjs [runs]
import { spawn, spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const runs = Number(process.argv[2] ?? 5);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`runs must be a whole number ≥ 1, not ${process.argv[2]}`);

const burners = Array.from({ length: availableParallelism() }, () =>
  spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" }),
);
const stopBurners = () => burners.forEach((burner) => burner.kill("SIGKILL"));
process.on("exit", stopBurners);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => process.exit(130));

const outcomes = [];
for (let run = 1; run <= runs; run += 1) {
  const started = Date.now();
  process.stderr.write(`\n##### run ${run}/${runs} with ${burners.length} busy loops\n`);
  const result = spawnSync("npm", ["test"], { cwd: root, stdio: "inherit" });
  outcomes.push({ run, passed: result.status === 0, seconds: Math.round((Date.now() - started) / 1000) });
}
stopBurners();
for (const { run, passed, seconds } of outcomes) process.stderr.write(`run ${run}: ${passed ? "passed" : "FAILED"} in ${seconds} s\n`);
const failed = outcomes.filter((outcome) => !outcome.passed).length;
process.stdout.write(`${runs - failed} passed, ${failed} failed\n`);
process.exit(failed === 0 ? 0 : 1);
