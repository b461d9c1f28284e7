import { describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { unary, type UnaryMethod } from "./grpc-call.ts";

describe("unary", () => {
  it("starts the call with stack capture off, and restores the limit after it, even when the call throws", async () => {
    const before = Error.stackTraceLimit;
    let limitDuringCall: number | undefined;
    const answering: UnaryMethod<string, string> = (request, _metadata, _options, callback) => {
      limitDuringCall = Error.stackTraceLimit;
      setImmediate(() => callback(null, `${request}!`));
      return {} as grpc.ClientUnaryCall;
    };
    await expect(unary(answering, "ping", new grpc.Metadata())).resolves.toBe("ping!");
    expect(limitDuringCall).toBe(0);
    expect(Error.stackTraceLimit).toBe(before);

    const throwing: UnaryMethod<string, string> = () => {
      throw new Error("channel closed");
    };
    await expect(unary(throwing, "ping", new grpc.Metadata())).rejects.toThrow("channel closed");
    expect(Error.stackTraceLimit).toBe(before);
  });

  it("passes a deadline and rejects with the call's error", async () => {
    let deadline: grpc.Deadline | undefined;
    const failing: UnaryMethod<string, string> = (_request, _metadata, options, callback) => {
      deadline = options.deadline;
      setImmediate(() => callback(Object.assign(new Error("14 UNAVAILABLE: no connection"), { code: 14 }) as grpc.ServiceError, ""));
      return {} as grpc.ClientUnaryCall;
    };
    const started = Date.now();
    await expect(unary(failing, "x", new grpc.Metadata(), 5_000)).rejects.toThrow("UNAVAILABLE");
    expect(typeof deadline).toBe("number");
    expect(deadline as number).toBeGreaterThanOrEqual(started + 5_000);
  });
});
