// Signal handling from the first line of start-up.
//
// main.ts imports this module first, so its body runs before any other
// module's code (grpc-js, the codecs, the certificate code) is evaluated.
// Until a handler is installed, SIGTERM's default action kills the process
// with no clean-up, and SIGINT (Ctrl-C on a foreground Vault, sent to the
// whole process group) does the same. So both are caught here at once: a
// SIGTERM that arrives before the plugin server exists is remembered and
// honoured as soon as it does.

type Stop = (signal: string) => void;

let pendingTermination: string | null = null;
let stop: Stop | null = null;
let describeIgnoredInterrupt: () => void = () => undefined;

process.on("SIGTERM", () => {
  if (stop !== null) stop("SIGTERM");
  else pendingTermination ??= "SIGTERM";
});
// The host stops plugins through the controller service, never with SIGINT.
process.on("SIGINT", () => describeIgnoredInterrupt());

/** Routes SIGTERM to `handler` from now on, and at once if one already arrived. */
export function onTermination(handler: Stop): void {
  stop = handler;
  if (pendingTermination !== null) handler(pendingTermination);
}

/** The signal that arrived before a handler existed, if any. */
export function terminationRequested(): string | null {
  return pendingTermination;
}

export function onIgnoredInterrupt(describe: () => void): void {
  describeIgnoredInterrupt = describe;
}
