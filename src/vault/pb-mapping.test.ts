import { describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { ErrorCode, PluginError } from "../shared/errors.ts";
import { Request as PbRequest, Response as PbResponse } from "../generated/sdk/plugin/pb/backend.ts";
import type { Storage } from "../framework/logical.ts";
import { multiplexId } from "./backend-server.ts";
import {
  dateToTimestamp,
  errorToPb,
  GO_ZERO_TIME_SECONDS,
  ProtoErrorType,
  requestFromPb,
  responseToPb,
  timestampToDate,
} from "./pb-mapping.ts";

const storage = {} as Storage;

describe("durations and times on the wire", () => {
  it("keeps int64 nanosecond TTLs above 2^53 exact through encode and decode", () => {
    const twoHundredYears = 200n * 365n * 24n * 3600n * 1_000_000_000n;
    const encoded = PbResponse.encode(
      responseToPb({
        secret: {
          leaseOptions: { ttl: twoHundredYears, maxTtl: twoHundredYears + 1n, renewable: true, increment: 0n, issueTime: null },
          internalData: { secret_type: "token" },
          leaseId: "",
        },
        data: {},
      }) as PbResponse,
    ).finish();
    const decoded = PbResponse.decode(encoded);
    expect(decoded.secret?.leaseOptions?.TTL).toBe(twoHundredYears);
    expect(decoded.secret?.leaseOptions?.MaxTTL).toBe(twoHundredYears + 1n);
  });

  it("always sends issue_time with a lease (Go zero time when unset)", () => {
    const pb = responseToPb({
      secret: { leaseOptions: { ttl: 1n, maxTtl: 0n, renewable: false, increment: 0n, issueTime: null }, internalData: {}, leaseId: "" },
    });
    expect(pb?.secret?.leaseOptions?.issueTime).toEqual({ seconds: GO_ZERO_TIME_SECONDS, nanos: 0 });
  });

  it("round-trips a real time and reads Go's zero time as unset", () => {
    const when = new Date("2026-11-23T01:02:03.456Z");
    expect(timestampToDate(dateToTimestamp(when))).toEqual(when);
    expect(timestampToDate({ seconds: GO_ZERO_TIME_SECONDS, nanos: 0 })).toBeNull();
    expect(timestampToDate(undefined)).toBeNull();
  });
});

describe("unset versus empty", () => {
  it("leaves the response unset when the backend has nothing to say", () => {
    expect(responseToPb(null)).toBeUndefined();
  });

  it("never sends an empty data string (Vault fails on it)", () => {
    expect(responseToPb({ warnings: ["w"] })?.data).toBe("null");
    expect(responseToPb({ data: { a: 1 } })?.data).toBe('{"a":1}');
  });

  it("reads absent request data as null and rejects data that is not an object", () => {
    const base = PbRequest.fromPartial({ operation: "read", path: "role/x" });
    expect(requestFromPb({ ...base, data: "" }, storage).data).toBeNull();
    expect(requestFromPb({ ...base, data: "null" }, storage).data).toBeNull();
    expect(requestFromPb({ ...base, data: '{"ttl":"1h"}' }, storage).data).toEqual({ ttl: "1h" });
    expect(() => requestFromPb({ ...base, data: "[1]" }, storage)).toThrow(/not a JSON object/);
  });
});

describe("errors map to the types that decide Vault's HTTP status", () => {
  it.each([
    [ErrorCode.UnsupportedPath, ProtoErrorType.UnsupportedPath],
    [ErrorCode.UnsupportedOperation, ProtoErrorType.UnsupportedOperation],
    [ErrorCode.UserError, ProtoErrorType.UserError],
    [ErrorCode.PermissionDenied, ProtoErrorType.PermissionDenied],
    [ErrorCode.InvalidRequest, ProtoErrorType.InvalidRequest],
    [ErrorCode.BadRequest, ProtoErrorType.StatusBadRequest],
    [ErrorCode.NomadApi, ProtoErrorType.Unknown],
    [ErrorCode.Internal, ProtoErrorType.Unknown],
  ])("%s → err_type %i", (code, errType) => {
    expect(errorToPb(new PluginError(code, "message")).errType).toBe(errType);
  });

  it("carries the status of a coded error", () => {
    expect(errorToPb(new PluginError(ErrorCode.Coded, "slow down", { httpStatus: 429 }))).toEqual({
      errType: ProtoErrorType.CodedError,
      errMsg: "slow down",
      errCode: 429n,
    });
  });
});

describe("multiplex id metadata", () => {
  const withIds = (...ids: string[]) => {
    const metadata = new grpc.Metadata();
    for (const id of ids) metadata.add("multiplex_id", id);
    return metadata;
  };

  it("selects one instance per id, and the single instance without metadata", () => {
    expect(multiplexId(withIds("aB3dE5gH7j"))).toBe("aB3dE5gH7j");
    expect(multiplexId(withIds())).toBe("single");
  });

  it("refuses several or empty ids with Go's messages", () => {
    expect(() => multiplexId(withIds("a", "b"))).toThrow("unexpected number of IDs in metadata: (2)");
    expect(() => multiplexId(withIds(""))).toThrow("empty multiplex ID in metadata");
  });
});
