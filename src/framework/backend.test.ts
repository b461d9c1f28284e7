// FrameworkBackend as Vault sees it: what each request yields (response,
// error response, or which PluginError code) for a small example engine.
import { beforeEach, describe, expect, it, vi } from "vitest";
import * as z from "../shared/schema.ts";
import { ErrorCode, PluginError } from "../shared/errors.ts";
import { processMetrics } from "../shared/metrics.ts";
import { FrameworkBackend } from "./backend.ts";
import { TypeBool, TypeCommaStringSlice, TypeDurationSecond, TypeMap, TypeString } from "./field-types.ts";
import { BackendType, NANOS_PER_SECOND, type Request, type Response, type Secret as LeaseSecret } from "./logical.ts";
import { definePath, genericNameRegex, optionalParamRegex } from "./path.ts";
import { errorResponse, listResponse } from "./response.ts";
import { defineSecret } from "./secret.ts";
import { getJSON, putJSON } from "./storage.ts";
import { setupTestBackend, type TestBackend, testRequest } from "./testing.ts";

const roleSchema = z.object({ ttl: z.number(), policies: z.array(z.string()), global: z.boolean() });

const roleFields = {
  name: { type: TypeString, description: "Name of the role." },
  ttl: { type: TypeDurationSecond, description: "Lease TTL.", default: "1h" },
  policies: { type: TypeCommaStringSlice, description: "Policies." },
  global: { type: TypeBool },
  token: { type: TypeString, sensitive: true, description: "A secret." },
} as const;

const tokenSecret = defineSecret({
  type: "token",
  defaultDuration: 3600,
  fields: { note: { type: TypeString } },
  internalData: z.object({ accessor_id: z.string() }),
  renew: async (_request, data, env) => {
    const response = env.renewResponse({ ttl: 120, maxTtl: 600 });
    response.warnings = [`accessor ${env.internal.accessor_id}`, `note ${data.get("note")}`];
    return response;
  },
  revoke: async (_request, _data, env) => {
    revoked.push(env.internal.accessor_id);
    return null;
  },
});

const unrevocable = defineSecret({ type: "unrevocable", defaultDuration: 60 });

let revoked: string[];
let handlerCalls: number;
const periodic = vi.fn(async () => undefined);
const invalidate = vi.fn(async (_key: string) => undefined);
const clean = vi.fn(async () => undefined);
const initialize = vi.fn(async () => undefined);

function makeBackend(): FrameworkBackend {
  return new FrameworkBackend({
    help: "The example backend.",
    operationPrefix: "example",
    paths: [
      definePath({
        pattern: "roles/?$",
        operations: {
          list: async (request) => listResponse(await request.storage.list("role/")),
        },
        helpSynopsis: "List roles.",
      }),
      definePath({
        pattern: `roles/${genericNameRegex("name")}`,
        fields: roleFields,
        existenceCheck: async (request, data) => (await request.storage.get(`role/${data.get("name")}`)) !== null,
        operations: {
          read: async (request, data) => {
            const role = await getJSON(request.storage, `role/${data.get("name")}`, roleSchema);
            return role === null ? null : { data: role };
          },
          create: writeRole,
          update: writeRole,
          delete: async (request, data) => {
            await request.storage.delete(`role/${data.get("name")}`);
            return null;
          },
        },
        helpSynopsis: "Manage roles.",
        helpDescription: "Roles say which policies a token gets.",
      }),
      definePath({
        pattern: `echo${optionalParamRegex("suffix")}`,
        fields: { suffix: { type: TypeString }, body: { type: TypeMap } },
        takesArbitraryInput: true,
        operations: {
          update: async (_request, data) => ({ data: { suffix: data.get("suffix"), body: data.get("body") } }),
          read: async () => ({}),
        },
      }),
      definePath({
        pattern: "echo.*",
        operations: { read: async () => ({ data: { shadowed: true } }) },
      }),
      definePath({
        pattern: "creds",
        operations: {
          read: async () => tokenSecret.response({ token: "t0ps3cret" }, { accessor_id: "acc-1" }),
          update: async () => {
            throw new Error("nomad is down");
          },
        },
      }),
      definePath({
        pattern: "creds-unrevocable",
        operations: { read: async () => unrevocable.response({ token: "t0ps3cret" }, {}) },
      }),
      definePath({ pattern: "readonly", operations: {} }),
    ],
    secrets: [tokenSecret, unrevocable],
    specialPaths: { sealWrapStorage: ["config/access"] },
    periodic,
    invalidate,
    clean,
    initialize,
  });
}

async function writeRole(
  request: Request,
  data: import("./field-data.ts").FieldData<typeof roleFields>,
): Promise<Response | null> {
  handlerCalls++;
  const key = `role/${data.get("name")}`;
  const existing = await getJSON(request.storage, key, roleSchema);
  // Partial update: only supplied fields change an existing role.
  const ttl = data.getOk("ttl");
  const policies = data.getOk("policies");
  const global = data.getOk("global");
  const role = {
    ttl: ttl.ok ? ttl.value : (existing?.ttl ?? data.get("ttl")),
    policies: policies.ok ? policies.value : (existing?.policies ?? []),
    global: global.ok ? global.value : (existing?.global ?? false),
  };
  if (role.policies.includes("root")) return errorResponse("the root policy cannot be granted");
  await putJSON(request.storage, key, role);
  return { data: { name: data.get("name"), supplied: Object.keys(data.raw).sort() } };
}

let harness: TestBackend<FrameworkBackend>;

beforeEach(async () => {
  revoked = [];
  handlerCalls = 0;
  vi.clearAllMocks();
  harness = await setupTestBackend(makeBackend(), { vaultVersion: "1.21.3" });
});

async function rejection(promise: Promise<unknown>): Promise<PluginError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PluginError) return error;
    throw new Error(`expected a PluginError, got ${String(error)}`);
  }
  throw new Error("expected a rejection");
}

describe("routing", () => {
  it("answers an unknown path with unsupported path (Vault: 404)", async () => {
    const error = await rejection(harness.request({ operation: "read", path: "nothing/here" }));
    expect(error.code).toBe(ErrorCode.UnsupportedPath);
  });

  it("answers an operation the path does not handle with unsupported operation (Vault: 405)", async () => {
    const error = await rejection(harness.request({ operation: "delete", path: "creds" }));
    expect(error.code).toBe(ErrorCode.UnsupportedOperation);
  });

  it("anchors patterns: a prefix or suffix match is no match", async () => {
    expect((await rejection(harness.request({ operation: "read", path: "xcreds" }))).code).toBe(
      ErrorCode.UnsupportedPath,
    );
    expect((await rejection(harness.request({ operation: "read", path: "creds/x" }))).code).toBe(
      ErrorCode.UnsupportedPath,
    );
  });

  it("uses the first matching path in declaration order", async () => {
    expect(await harness.request({ operation: "update", path: "echo/abc", data: {} })).toEqual({
      data: { suffix: "abc", body: {} },
    });
    expect(await harness.request({ operation: "read", path: "echoes" })).toEqual({ data: { shadowed: true } });
  });

  it("captures an optional group that did not match as \"\", replacing a body value (Go semantics)", async () => {
    const response = await harness.request({ operation: "update", path: "echo", data: { suffix: "from-body" } });
    expect(response?.data).toEqual({ suffix: "", body: {} });
    expect(response?.warnings).toEqual([
      "Endpoint replaced the value of these parameters with the values captured from the endpoint's path: [suffix]",
    ]);
  });

  it("answers help on a path that handles no operation at all", async () => {
    const response = await harness.request({ operation: "help", path: "readonly" });
    expect(response?.data?.help).toContain("Matching Route: ^readonly$");
  });
});

describe("field validation", () => {
  it("answers invalid input with an error response naming field, input and reason (Vault: 400)", async () => {
    const response = await harness.request({ operation: "update", path: "roles/web", data: { ttl: "1.5" } });
    expect(response).toEqual({
      data: {
        error: 'Field validation failed: error converting input 1.5 for field "ttl": time: missing unit in duration "1.5"',
      },
    });
    expect(handlerCalls).toBe(0);
  });

  it("validates path captures too", async () => {
    const response = await harness.request({ operation: "update", path: "roles/web", data: { global: "maybe" } });
    expect(response?.data?.error).toBe(
      `Field validation failed: error converting input maybe for field "global": cannot parse '' as bool: strconv.ParseBool: parsing "maybe": invalid syntax`,
    );
  });

  it("never echoes a sensitive field's value", async () => {
    const response = await harness.request({
      operation: "update",
      path: "roles/web",
      data: { token: { secret: "hunter2" } },
    });
    const message = String(response?.data?.error);
    expect(message).toBe(
      `Field validation failed: error converting input <redacted> for field "token": cannot convert a value of type 'map[string]interface {}' to string`,
    );
    expect(message).not.toContain("hunter2");
  });

  it("does not validate help requests", async () => {
    const response = await harness.request({ operation: "help", path: "roles/web", data: { ttl: "nonsense" } });
    expect(typeof response?.data?.help).toBe("string");
  });

  it("does not check fields a path does not declare", async () => {
    const response = await harness.request({ operation: "update", path: "roles/web", data: { extra: { any: 1 } } });
    expect(response?.data?.error).toBeUndefined();
  });
});

describe("handlers", () => {
  it("coerces inputs and applies defaults", async () => {
    await harness.request({ operation: "create", path: "roles/web", data: { policies: "a, b", global: "true" } });
    const read = await harness.request({ operation: "read", path: "roles/web" });
    expect(read).toEqual({ data: { ttl: 3600, policies: ["a", "b"], global: true } });
  });

  it("tells supplied fields from absent ones (partial update keeps the rest)", async () => {
    await harness.request({ operation: "create", path: "roles/web", data: { policies: "a", ttl: "2h", global: true } });
    await harness.request({ operation: "update", path: "roles/web", data: { ttl: 60 } });
    const read = await harness.request({ operation: "read", path: "roles/web" });
    expect(read?.data).toEqual({ ttl: 60, policies: ["a"], global: true });
  });

  it("lets handlers answer with an error response", async () => {
    const response = await harness.request({ operation: "update", path: "roles/web", data: { policies: "root" } });
    expect(response).toEqual({ data: { error: "the root policy cannot be granted" } });
  });

  it("gives a null read through as null (Vault: 404)", async () => {
    expect(await harness.request({ operation: "read", path: "roles/missing" })).toBeNull();
  });

  it("turns an empty response object into null (Vault: 204, never an undecodable empty reply)", async () => {
    expect(await harness.request({ operation: "read", path: "echo" })).toBeNull();
  });

  it("keeps a list answer without keys as data {} so that Vault answers 404", async () => {
    expect(await harness.request({ operation: "list", path: "roles/" })).toEqual({ data: {} });
    await harness.request({ operation: "update", path: "roles/b" });
    await harness.request({ operation: "update", path: "roles/a" });
    expect(await harness.request({ operation: "list", path: "roles/" })).toEqual({ data: { keys: ["a", "b"] } });
  });

  it("reports a thrown error as an internal PluginError with its message", async () => {
    const error = await rejection(harness.request({ operation: "update", path: "creds" }));
    expect(error.code).toBe(ErrorCode.Internal);
    expect(error.message).toBe("nomad is down");
  });
});

describe("warnings", () => {
  it("lists ignored parameters sorted, in Go's list format", async () => {
    const response = await harness.request({ operation: "update", path: "roles/web", data: { zeta: 1, alpha: 2 } });
    expect(response?.warnings).toEqual(["Endpoint ignored these unrecognized parameters: [alpha zeta]"]);
  });

  it("names body fields replaced by path captures; the path value wins", async () => {
    const response = await harness.request({ operation: "update", path: "roles/web", data: { name: "other" } });
    expect(response?.data?.name).toBe("web");
    expect(response?.warnings).toEqual([
      "Endpoint replaced the value of these parameters with the values captured from the endpoint's path: [name]",
    ]);
  });

  it("treats keys named like Object.prototype members as unknown parameters", async () => {
    const data = JSON.parse('{"constructor": 1, "__proto__": {"polluted": true}, "toString": "x"}');
    const response = await harness.request({ operation: "update", path: "roles/web", data });
    expect(response?.data?.error).toBeUndefined();
    expect(response?.warnings).toEqual([
      "Endpoint ignored these unrecognized parameters: [__proto__ constructor toString]",
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("adds no warnings to a null response", async () => {
    expect(await harness.request({ operation: "delete", path: "roles/web", data: { bogus: 1 } })).toBeNull();
  });

  it("adds no ignored-parameter warning on paths that take arbitrary input", async () => {
    const response = await harness.request({ operation: "update", path: "echo/x", data: { anything: 1 } });
    expect(response?.warnings).toBeUndefined();
  });
});

describe("existence checks", () => {
  it("reports no check for paths without one", async () => {
    const result = await harness.backend.handleExistenceCheck(testRequest({ operation: "update", path: "creds" }));
    expect(result).toEqual({ checkFound: false, exists: false });
  });

  it("runs the check for create and update", async () => {
    const request = { path: "roles/web", storage: harness.storage };
    expect(await harness.backend.handleExistenceCheck(testRequest({ operation: "update", ...request }))).toEqual({
      checkFound: true,
      exists: false,
    });
    await harness.request({ operation: "create", path: "roles/web" });
    expect(await harness.backend.handleExistenceCheck(testRequest({ operation: "create", ...request }))).toEqual({
      checkFound: true,
      exists: true,
    });
  });

  it("refuses other operations", async () => {
    const error = await rejection(
      harness.backend.handleExistenceCheck(testRequest({ operation: "read", path: "roles/web" })),
    );
    expect(error.code).toBe(ErrorCode.Internal);
    expect(error.message).toBe("incorrect operation type read for an existence check");
  });

  it("answers unknown paths with unsupported path", async () => {
    const error = await rejection(harness.backend.handleExistenceCheck(testRequest({ operation: "update", path: "x" })));
    expect(error.code).toBe(ErrorCode.UnsupportedPath);
  });

  it("reports invalid fields as a user error (Vault: 400)", async () => {
    const error = await rejection(
      harness.backend.handleExistenceCheck(
        testRequest({ operation: "update", path: "roles/web", data: { ttl: "-1" } }),
      ),
    );
    expect(error.code).toBe(ErrorCode.UserError);
    expect(error.message).toBe(`error converting input -1 for field "ttl": cannot provide negative value '-1'`);
  });
});

describe("secrets and leases", () => {
  async function issue(): Promise<LeaseSecret> {
    const response = await harness.request({ operation: "read", path: "creds" });
    if (response?.secret === undefined) throw new Error("no secret issued");
    return response.secret;
  }

  it("revokes a secret made for a request the host stopped waiting for, and counts it", async () => {
    const before = processMetrics.orphansRemoved;
    const error = await rejection(harness.request({ operation: "read", path: "creds", signal: AbortSignal.abort() }));
    expect(error.message).toBe("the request was cancelled before its secret could be delivered; the secret was revoked");
    expect(error.message).not.toContain("t0ps3cret");
    expect(revoked).toEqual(["acc-1"]);
    expect(processMetrics.orphansRemoved).toBe(before + 1);
  });

  it("counts an undeliverable secret it cannot revoke as left to expire, and says so", async () => {
    const before = processMetrics.orphansLeft;
    const error = await rejection(
      harness.request({ operation: "read", path: "creds-unrevocable", signal: AbortSignal.abort() }),
    );
    expect(error.message).toBe("the request was cancelled before its secret could be delivered; the secret was left to expire");
    expect(processMetrics.orphansLeft).toBe(before + 1);
    expect(harness.logs.join("\n")).toContain("could not revoke a secret the host stopped waiting for");
  });

  it("delivers a secret normally while the host is still waiting", async () => {
    const response = await harness.request({ operation: "read", path: "creds", signal: new AbortController().signal });
    expect(response?.secret).toBeDefined();
    expect(revoked).toEqual([]);
  });

  it("issues a lease with the default TTL in nanoseconds, renewable, with secret_type", async () => {
    const before = Date.now();
    const response = await harness.request({ operation: "read", path: "creds" });
    expect(response?.data).toEqual({ token: "t0ps3cret" });
    expect(response?.secret?.leaseOptions).toMatchObject({ ttl: 3600n * NANOS_PER_SECOND, renewable: true });
    expect(response?.secret?.internalData).toEqual({ accessor_id: "acc-1", secret_type: "token" });
    expect(response?.secret?.leaseId).toBe("");
    expect(response?.secret?.leaseOptions.issueTime?.getTime()).toBeGreaterThanOrEqual(before);
  });

  it("marks a secret without renew handler as not renewable", () => {
    expect(unrevocable.response(null, {}).secret?.leaseOptions.renewable).toBe(false);
  });

  it("renews by echoing the stored secret, including secret_type, with the new TTL", async () => {
    const secret = await issue();
    const issued = secret.leaseOptions.issueTime;
    const response = await harness.request({
      operation: "renew",
      path: "creds",
      secret: { ...secret, leaseOptions: { ...secret.leaseOptions, increment: 30n * NANOS_PER_SECOND } },
      data: { note: "hello", token: "t0ps3cret" },
    });
    expect(response?.secret?.internalData).toEqual({ accessor_id: "acc-1", secret_type: "token" });
    expect(response?.secret?.leaseOptions.ttl).toBe(120n * NANOS_PER_SECOND);
    expect(response?.secret?.leaseOptions.maxTtl).toBe(600n * NANOS_PER_SECOND);
    expect(response?.secret?.leaseOptions.issueTime).toEqual(issued);
    expect(response?.warnings).toEqual(["accessor acc-1", "note hello"]);
    expect(response?.data).toBeUndefined();
  });

  it("revokes through the secret's revoke handler with typed internal data", async () => {
    const secret = await issue();
    expect(await harness.request({ operation: "revoke", path: "creds", secret })).toBeNull();
    expect(revoked).toEqual(["acc-1"]);
  });

  it("dispatches on secret_type even for paths that no longer exist", async () => {
    const secret = await issue();
    await harness.request({ operation: "revoke", path: "gone/path", secret });
    expect(revoked).toEqual(["acc-1"]);
  });

  it.each<[string, LeaseSecret | null, string]>([
    ["no secret", null, "request has no secret"],
    ["no secret_type", lease({}), "secret is unsupported by this backend"],
    ["a non-string secret_type", lease({ secret_type: 7 }), "secret is unsupported by this backend"],
    ["an unknown secret_type", lease({ secret_type: "other" }), "secret is unsupported by this backend"],
  ])("fails with an internal error for %s", async (_case, secret, message) => {
    for (const operation of ["renew", "revoke"] as const) {
      const error = await rejection(harness.request({ operation, path: "creds", secret }));
      expect(error.code).toBe(ErrorCode.Internal);
      expect(error.message).toBe(message);
    }
  });

  it("answers renew or revoke without a handler with unsupported operation", async () => {
    const secret = lease({ secret_type: "unrevocable" });
    expect((await rejection(harness.request({ operation: "revoke", path: "x", secret }))).code).toBe(
      ErrorCode.UnsupportedOperation,
    );
    expect((await rejection(harness.request({ operation: "renew", path: "x", secret }))).code).toBe(
      ErrorCode.UnsupportedOperation,
    );
  });

  it("refuses malformed internal data without echoing it", async () => {
    const error = await rejection(
      harness.request({ operation: "revoke", path: "creds", secret: lease({ secret_type: "token", accessor_id: 42 }) }),
    );
    expect(error.code).toBe(ErrorCode.Internal);
    expect(error.message).toMatch(/^internal data of secret type "token" is malformed: accessor_id: /);
    expect(error.message).not.toContain("42");
  });
});

function lease(internalData: Record<string, unknown>): LeaseSecret {
  return {
    leaseId: "nomad/creds/x/abc",
    internalData,
    leaseOptions: { ttl: 0n, maxTtl: 0n, renewable: true, increment: 0n, issueTime: new Date() },
  };
}

describe("rollback and lifecycle", () => {
  it("answers rollback with nothing and runs the periodic hook", async () => {
    expect(await harness.request({ operation: "rollback", path: "" })).toBeNull();
    expect(periodic).toHaveBeenCalledTimes(1);
  });

  it("answers rollback cheaply when there is no periodic hook", async () => {
    const bare = await setupTestBackend(new FrameworkBackend({ help: "", paths: [] }));
    expect(await bare.request({ operation: "rollback", path: "" })).toBeNull();
  });

  it("reports a failing periodic hook as an error", async () => {
    periodic.mockRejectedValueOnce(new Error("tidy failed"));
    const error = await rejection(harness.request({ operation: "rollback", path: "" }));
    expect(error.message).toBe("tidy failed");
  });

  it("runs initialize, invalidate and clean hooks", async () => {
    expect(initialize).toHaveBeenCalledTimes(1);
    await harness.backend.invalidateKey("config/access");
    expect(invalidate).toHaveBeenCalledWith("config/access");
    await harness.backend.cleanup();
    expect(clean).toHaveBeenCalledTimes(1);
  });

  it("reports the backend type and special paths", () => {
    expect(harness.backend.type()).toBe(BackendType.Logical);
    expect(harness.backend.specialPaths()).toEqual({
      root: [],
      unauthenticated: [],
      localStorage: [],
      sealWrapStorage: ["config/access"],
    });
  });

  it("refuses requests before setup", async () => {
    const error = await rejection(makeBackend().handleRequest(testRequest({ operation: "read", path: "creds" })));
    expect(error.message).toBe("backend is not set up");
  });
});

describe("help", () => {
  it("answers root help with text and an OpenAPI document carrying the Vault version", async () => {
    const response = await harness.request({
      operation: "help",
      path: "",
      data: { requestResponsePrefix: "nomad" },
    });
    expect(response?.data?.see_also).toBeNull();
    expect(String(response?.data?.help)).toMatch(/^## DESCRIPTION\n\nThe example backend\.\n\n## PATHS\n/);
    const openapi = response?.data?.openapi as { openapi: string; info: { version: string }; paths: object };
    expect(openapi.openapi).toBe("3.0.2");
    expect(openapi.info.version).toBe("1.21.3");
    expect(Object.keys(openapi.paths)).toContain("/roles/{name}");
  });

  it("still answers root help when the Vault version cannot be read", async () => {
    harness.system.pluginEnvError = new Error("broker gone");
    const response = await harness.request({ operation: "help", path: "" });
    const openapi = response?.data?.openapi as { info: { version: string } };
    expect(openapi.info.version).toBe("");
  });

  it("answers path help with that path's text and document", async () => {
    const response = await harness.request({ operation: "help", path: "roles/web" });
    expect(String(response?.data?.help)).toContain("Request:        roles/web\nMatching Route: ^roles/(?P<name>");
    const openapi = response?.data?.openapi as { paths: Record<string, unknown> };
    expect(Object.keys(openapi.paths)).toEqual(["/roles/{name}"]);
  });

  it("answers help on an unknown path with unsupported path", async () => {
    expect((await rejection(harness.request({ operation: "help", path: "nope" }))).code).toBe(ErrorCode.UnsupportedPath);
  });
});

describe("definitions", () => {
  it("refuses a create handler without an existence check", () => {
    expect(() =>
      definePath({ pattern: "x", operations: { create: async () => null } }),
    ).toThrowError(/defines a create operation but no existenceCheck/);
  });

  it("refuses a default its type cannot hold", () => {
    expect(() =>
      definePath({ pattern: "x", fields: { ttl: { type: TypeDurationSecond, default: "soon" } }, operations: {} }),
    ).toThrowError('default for field "ttl" is not a valid duration (sec): time: invalid duration "soon"');
  });

  it("refuses an invalid pattern and duplicate secret types", () => {
    expect(() => definePath({ pattern: "(unclosed", operations: {} })).toThrowError(/invalid pattern/);
    expect(() => new FrameworkBackend({ help: "", paths: [], secrets: [tokenSecret, tokenSecret] })).toThrowError(
      /declared twice/,
    );
  });
});
