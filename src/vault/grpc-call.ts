// Promise form of a grpc-js unary call with a deadline, so a dead brokered
// connection fails the request instead of hanging it.
import type * as grpc from "@grpc/grpc-js";

/** Vault's default max request duration. */
export const HOST_CALL_DEADLINE_MS = 90_000;

export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

export function unary<Req, Res>(
  method: UnaryMethod<Req, Res>,
  request: Req,
  metadata: grpc.Metadata,
  deadlineMs: number = HOST_CALL_DEADLINE_MS,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    // grpc-js captures the caller's stack in every unary call (a new Error),
    // only to append it to a failed call's error.stack. Nothing here reads that
    // stack, and the capture was the costliest frame of a storage call (3 % of
    // the plugin's CPU under load, docs/performance.md). The call starts
    // synchronously, so the limit is back before any other code runs.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      method(request, metadata, { deadline: Date.now() + deadlineMs }, (error, response) =>
        error ? reject(error) : resolve(response),
      );
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
  });
}
