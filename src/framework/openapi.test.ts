// The OpenAPI document of help answers: its shape must decode into the Go
// SDK's OASDocument (mapstructure, strict types), and its content must match
// what a Go engine with the same paths would produce.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { FrameworkBackend } from "./backend.ts";
import { TypeCommaStringSlice, TypeDurationSecond, TypeNameString, TypeString } from "./field-types.ts";
import { BackendType, type SpecialPaths } from "./logical.ts";
import {
  constructOperationId,
  documentPaths,
  hyphenatedToTitleCase,
  type OasDocument,
  specialPathMatch,
} from "./openapi.ts";
import { expandPattern } from "./openapi-pattern.ts";
import { definePath, genericNameRegex, optionalParamRegex } from "./path.ts";
import { setupTestBackend } from "./testing.ts";

// The Go SDK's OAS types, member by member with their Go types; strict, so a
// misspelt member fails here instead of being silently dropped by Vault.
const displayAttrs = z.strictObject({
  name: z.string().optional(),
  description: z.string().optional(),
  value: z.unknown().optional(),
  sensitive: z.boolean().optional(),
  navigation: z.boolean().optional(),
  itemType: z.string().optional(),
  group: z.string().optional(),
  action: z.string().optional(),
  editType: z.string().optional(),
});
type GoSchema = { [key: string]: unknown };
const oasSchema: z.ZodType<GoSchema> = z.lazy(() =>
  z.strictObject({
    $ref: z.string().optional(),
    type: z.string().optional(),
    description: z.string().optional(),
    properties: z.record(z.string(), oasSchema).optional(),
    additionalProperties: z.unknown().optional(),
    required: z.array(z.string()).optional(),
    items: oasSchema.optional(),
    format: z.string().optional(),
    pattern: z.string().optional(),
    enum: z.array(z.unknown()).optional(),
    default: z.unknown().optional(),
    example: z.unknown().optional(),
    deprecated: z.boolean().optional(),
    "x-vault-displayAttrs": displayAttrs.optional(),
  }),
);
const oasParameter = z.strictObject({
  name: z.string(),
  description: z.string().optional(),
  in: z.string(),
  schema: oasSchema.optional(),
  required: z.boolean().optional(),
  deprecated: z.boolean().optional(),
});
const oasContent = z.record(z.string(), z.strictObject({ schema: oasSchema.optional() }));
const statusCode = z.string().regex(/^[1-5][0-9]{2}$/);
const oasOperation = z.strictObject({
  summary: z.string().optional(),
  description: z.string().optional(),
  operationId: z.string().optional(),
  tags: z.array(z.string()).optional(),
  parameters: z.array(oasParameter).optional(),
  requestBody: z
    .strictObject({ description: z.string().optional(), required: z.boolean().optional(), content: oasContent })
    .optional(),
  responses: z.record(statusCode, z.strictObject({ description: z.string(), content: oasContent.optional() })),
  deprecated: z.boolean().optional(),
});
const oasDocument = z.strictObject({
  openapi: z.literal("3.0.2"),
  info: z.strictObject({
    title: z.string(),
    description: z.string(),
    version: z.string(),
    license: z.strictObject({ name: z.string(), url: z.string() }),
  }),
  paths: z.record(
    z.string(),
    z.strictObject({
      description: z.string().optional(),
      parameters: z.array(oasParameter).optional(),
      "x-vault-sudo": z.boolean().optional(),
      "x-vault-unauthenticated": z.boolean().optional(),
      "x-vault-createSupported": z.boolean().optional(),
      "x-vault-displayNavigation": z.boolean().optional(),
      "x-vault-displayAttrs": displayAttrs.optional(),
      get: oasOperation.optional(),
      post: oasOperation.optional(),
      patch: oasOperation.optional(),
      delete: oasOperation.optional(),
    }),
  ),
  components: z.strictObject({ schemas: z.record(z.string(), oasSchema) }),
});

const NO_SPECIAL_PATHS: SpecialPaths = { root: [], unauthenticated: [], localStorage: [], sealWrapStorage: [] };

const roleFields = {
  name: { type: TypeNameString, description: "Name of the role." },
  ttl: { type: TypeDurationSecond, description: "Lease  TTL,\n in seconds.", default: "1h" },
  policies: { type: TypeCommaStringSlice, description: "Policies.", required: true },
  token: { type: TypeString, description: "Management token.", sensitive: true },
  version: { type: TypeString, description: "Version to read.", query: true },
} as const;

const paths = [
  definePath({
    pattern: "role/?$",
    operations: { list: async () => null },
    helpSynopsis: "List the roles.",
    displayAttrs: { operationSuffix: "roles" },
  }),
  definePath({
    pattern: `role/${genericNameRegex("name")}`,
    fields: roleFields,
    existenceCheck: async () => false,
    operations: {
      read: async () => null,
      create: async () => null,
      update: { handler: async () => null, summary: "Write a role.", responses: { 200: { description: "The role", fields: { ttl: { type: TypeDurationSecond } } } } },
      delete: async () => null,
    },
    helpSynopsis: "Manage roles.",
    displayAttrs: { operationSuffix: "role", itemType: "Role" },
  }),
  definePath({
    pattern: `creds${optionalParamRegex("name")}`,
    fields: { name: { type: TypeString } },
    operations: { read: async () => null },
    displayAttrs: { operationVerb: "generate", operationSuffix: "credentials|credentials-for-role" },
  }),
  definePath({ pattern: "debug/.*", operations: { read: async () => null } }),
];

function document(prefix = "", special: SpecialPaths = NO_SPECIAL_PATHS): OasDocument {
  return documentPaths(paths, {
    specialPaths: special,
    backendType: BackendType.Logical,
    requestResponsePrefix: prefix,
    operationPrefix: "nomad",
    vaultVersion: "1.21.3",
  });
}

describe("the document's shape", () => {
  it("decodes into the Go SDK's OASDocument types", () => {
    const plain = JSON.parse(JSON.stringify(document("nomad")));
    expect(() => oasDocument.parse(plain)).not.toThrow();
  });

  it("has Vault's info block with the running Vault version", () => {
    expect(document().info).toEqual({
      title: "HashiCorp Vault API",
      description: "HTTP API that gives you full access to Vault. All API routes are prefixed with `/v1/`.",
      version: "1.21.3",
      license: { name: "Mozilla Public License 2.0", url: "https://www.mozilla.org/en-US/MPL/2.0" },
    });
  });

  it("survives the backend's own root help round trip", async () => {
    const harness = await setupTestBackend(new FrameworkBackend({ help: "h", paths, operationPrefix: "nomad" }));
    const response = await harness.request({ operation: "help", path: "", data: { requestResponsePrefix: "nomad" } });
    const plain = JSON.parse(JSON.stringify(response?.data?.openapi));
    expect(oasDocument.parse(plain).openapi).toBe("3.0.2");
  });
});

describe("paths and operations", () => {
  const doc = document("nomad");

  it("writes one OpenAPI path per expansion, list operations on the trailing-slash form", () => {
    expect(Object.keys(doc.paths).sort()).toEqual(["/^debug/.*$", "/creds", "/creds/{name}", "/role/", "/role/{name}"]);
  });

  it("documents path captures as required path parameters", () => {
    expect(doc.paths["/role/{name}"]?.parameters).toEqual([
      {
        name: "name",
        description: "Name of the role.",
        in: "path",
        required: true,
        schema: { type: "string", pattern: String.raw`\w([\w-.]*\w)?` },
      },
    ]);
  });

  it("marks create support, and documents update as POST with a named request schema", () => {
    const item = doc.paths["/role/{name}"];
    expect(item?.["x-vault-createSupported"]).toBe(true);
    expect(item?.["x-vault-displayAttrs"]).toEqual({ itemType: "Role" });
    expect(item?.post?.operationId).toBe("nomad-write-role");
    expect(item?.post?.summary).toBe("Write a role.");
    expect(item?.post?.tags).toEqual(["secrets"]);
    expect(item?.post?.requestBody).toEqual({
      required: true,
      content: { "application/json": { schema: { $ref: "#/components/schemas/NomadWriteRoleRequest" } } },
    });
    expect(doc.components.schemas.NomadWriteRoleRequest).toEqual({
      type: "object",
      required: ["policies"],
      properties: {
        ttl: { type: "string", format: "duration", description: "Lease TTL, in seconds.", default: "1h" },
        policies: { type: "array", items: { type: "string" }, description: "Policies." },
        token: {
          type: "string",
          description: "Management token.",
          "x-vault-displayAttrs": { sensitive: true },
        },
        version: { type: "string", description: "Version to read." },
      },
    });
  });

  it("documents declared responses with a named response schema", () => {
    expect(doc.paths["/role/{name}"]?.post?.responses).toEqual({
      "200": {
        description: "The role",
        content: { "application/json": { schema: { $ref: "#/components/schemas/NomadWriteRoleResponse" } } },
      },
    });
    expect(doc.components.schemas.NomadWriteRoleResponse).toEqual({
      type: "object",
      properties: { ttl: { type: "string", format: "duration" } },
    });
  });

  it("documents read with query fields and delete with 204", () => {
    const item = doc.paths["/role/{name}"];
    expect(item?.get?.operationId).toBe("nomad-read-role");
    expect(item?.get?.summary).toBe("Manage roles.");
    expect(item?.get?.parameters).toEqual([
      { name: "version", description: "Version to read.", in: "query", schema: { type: "string" } },
    ]);
    expect(item?.get?.responses).toEqual({ "200": { description: "OK" } });
    expect(item?.delete?.responses).toEqual({ "204": { description: "empty body" } });
    expect(item?.delete?.operationId).toBe("nomad-delete-role");
  });

  it("documents list as GET with list=true and the standard list response", () => {
    const list = doc.paths["/role/"]?.get;
    expect(list?.operationId).toBe("nomad-list-roles");
    expect(list?.parameters).toEqual([
      { name: "list", description: "Must be set to `true`", in: "query", required: true, schema: { type: "string", enum: ["true"] } },
    ]);
    expect(list?.responses["200"]?.content).toEqual({
      "application/json": { schema: { $ref: "#/components/schemas/StandardListResponse" } },
    });
    expect(doc.components.schemas.StandardListResponse).toEqual({
      type: "object",
      properties: { keys: { type: "array", items: { type: "string" } } },
    });
  });

  it("picks the |-separated suffix of each expansion, with the backend's operation prefix", () => {
    expect(doc.paths["/creds"]?.get?.operationId).toBe("nomad-generate-credentials");
    expect(doc.paths["/creds/{name}"]?.get?.operationId).toBe("nomad-generate-credentials-for-role");
  });

  it("lists a pattern with no OpenAPI form under its regex, without operations", () => {
    expect(doc.paths["/^debug/.*$"]).toEqual({});
  });

  it("marks sudo and unauthenticated paths", () => {
    const special = document("", { ...NO_SPECIAL_PATHS, root: ["role/*"], unauthenticated: ["creds"] });
    expect(special.paths["/role/{name}"]?.["x-vault-sudo"]).toBe(true);
    expect(special.paths["/creds"]?.["x-vault-unauthenticated"]).toBe(true);
    expect(special.paths["/creds/{name}"]?.["x-vault-unauthenticated"]).toBeUndefined();
  });
});

describe("expandPattern", () => {
  it.each<[string, string[] | undefined]>([
    ["^roles/?$", ["roles"]],
    [`^roles/${genericNameRegex("name")}$`, ["roles/{name}"]],
    [`^creds${optionalParamRegex("name")}$`, ["creds", "creds/{name}"]],
    ["^config/(access|lease)$", ["config/access", "config/lease"]],
    ["^(?:a|b/?)x$", ["ax", "bx", "b/x"]],
    ["^rotate\\-root$", ["rotate-root"]],
    ["^issuer/(?<ref>[^/]+)/crl(/pem|/der)?$", ["issuer/{ref}/crl", "issuer/{ref}/crl/pem", "issuer/{ref}/crl/der"]],
    ["^roles/?", ["roles"]],
    ["^debug/.*$", undefined],
    ["^x+$", undefined],
    ["^[ab]$", undefined],
    ["^a(?=b)$", undefined],
  ])("%s", (pattern, expected) => {
    expect(expandPattern(pattern)?.paths).toEqual(expected);
  });
});

describe("constructOperationId", () => {
  it.each<[string, number, object | undefined, "read" | "update" | "list" | "create", object | undefined, string, string]>([
    ["config/access", 0, undefined, "update", undefined, "nomad", "nomad-write-config-access"],
    ["config/access", 0, { operationPrefix: "nomad", operationSuffix: "access-configuration" }, "read", undefined, "", "nomad-read-access-configuration"],
    ["creds/{name}", 0, { operationPrefix: "nomad", operationVerb: "generate", operationSuffix: "credentials" }, "read", undefined, "", "nomad-generate-credentials"],
    ["role/{name}", 0, { operationPrefix: "nomad" }, "create", undefined, "", "nomad-create-role-name"],
    ["role/{name}", 0, { operationPrefix: "nomad" }, "read", { operationVerb: "fetch" }, "", "nomad-fetch"],
    ["a/b", 2, { operationSuffix: "x|y" }, "read", undefined, "p", "p-read-a-b"],
    ["a/b", 1, undefined, "list", undefined, "", "list-a-b"],
    // As in Go: a verb without a prefix drops the default prefix and the path suffix.
    ["creds/{name}", 0, { operationVerb: "generate" }, "read", undefined, "nomad", "generate"],
  ])("%s #%i", (path, index, pathAttributes, operation, operationAttributes, prefix, expected) => {
    expect(constructOperationId(path, index, pathAttributes, operation, operationAttributes, prefix)).toBe(expected);
  });
});

describe("helpers", () => {
  it("title-cases operation ids for schema names", () => {
    expect(hyphenatedToTitleCase("nomad-write-role")).toBe("NomadWriteRole");
  });

  it.each<[string, string[], boolean]>([
    ["config/access", ["config/access"], true],
    ["config/access", ["config/*"], true],
    ["config", ["config/*"], false],
    ["role/x/rotate", ["role/+/rotate"], true],
    ["role/x/y/rotate", ["role/+/rotate"], false],
    ["role/x/anything/else", ["role/+/*"], true],
  ])("specialPathMatch(%s, %j) is %s", (path, special, expected) => {
    expect(specialPathMatch(path, special)).toBe(expected);
  });
});
