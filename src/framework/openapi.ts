// OpenAPI 3.0.2 documents for help answers, built the way the Go SDK builds
// them (documentPath/constructOperationID in sdk/framework/openapi.go), so
// that `sys/internal/specs/openapi` merges this plugin like a Go engine.
// Vault decodes the document with mapstructure into fixed Go types: every
// member below has exactly the JSON type the Go struct expects, and empty
// members are left out (Go's `omitempty`).
import type { Logger } from "../shared/log.ts";
import type { DisplayAttributes, FieldMap, FieldSchema } from "./field-data.ts";
import { BackendType, type SpecialPaths } from "./logical.ts";
import { expandPattern } from "./openapi-pattern.ts";
import type { OperationSpec, Path, PathOperation } from "./path.ts";

export const OPENAPI_VERSION = "3.0.2";

export interface OpenApiInfo {
  title: string;
  description: string;
}

/** Vault's own title and description; the document is merged into Vault's. */
export const DEFAULT_OPENAPI_INFO: OpenApiInfo = {
  title: "HashiCorp Vault API",
  description: "HTTP API that gives you full access to Vault. All API routes are prefixed with `/v1/`.",
};

export interface OasSchema {
  $ref?: string;
  type?: string;
  description?: string;
  properties?: Record<string, OasSchema>;
  additionalProperties?: boolean;
  required?: string[];
  items?: OasSchema;
  format?: string;
  pattern?: string;
  enum?: unknown[];
  default?: unknown;
  deprecated?: boolean;
  "x-vault-displayAttrs"?: Record<string, unknown>;
}

export interface OasParameter {
  name: string;
  description?: string;
  in: "path" | "query";
  schema?: OasSchema;
  required?: boolean;
  deprecated?: boolean;
}

export interface OasMediaType {
  schema?: OasSchema;
}

export interface OasResponse {
  description: string;
  content?: Record<string, OasMediaType>;
}

export interface OasOperation {
  summary?: string;
  description?: string;
  operationId?: string;
  tags?: string[];
  parameters?: OasParameter[];
  requestBody?: { required?: boolean; content: Record<string, OasMediaType> };
  /** Keyed by the HTTP status as a string ("200"), as Vault's decoder expects. */
  responses: Record<string, OasResponse>;
  deprecated?: boolean;
}

export interface OasPathItem {
  description?: string;
  parameters?: OasParameter[];
  "x-vault-sudo"?: boolean;
  "x-vault-unauthenticated"?: boolean;
  "x-vault-createSupported"?: boolean;
  "x-vault-displayAttrs"?: Record<string, unknown>;
  get?: OasOperation;
  post?: OasOperation;
  patch?: OasOperation;
  delete?: OasOperation;
}

export interface OasDocument {
  openapi: string;
  info: { title: string; description: string; version: string; license: { name: string; url: string } };
  paths: Record<string, OasPathItem>;
  components: { schemas: Record<string, OasSchema> };
}

export interface OpenApiOptions {
  specialPaths: SpecialPaths;
  backendType: BackendType;
  /** Operation-id prefix when a path names none (Vault passes the mount type as `requestResponsePrefix`). */
  requestResponsePrefix: string;
  /** Backend-wide operationPrefix for paths whose displayAttrs set none. */
  operationPrefix?: string;
  vaultVersion: string;
  info?: OpenApiInfo;
  logger?: Logger;
}

export function newOpenApiDocument(vaultVersion: string, info: OpenApiInfo = DEFAULT_OPENAPI_INFO): OasDocument {
  return {
    openapi: OPENAPI_VERSION,
    info: {
      title: info.title,
      description: info.description,
      version: vaultVersion,
      license: { name: "Mozilla Public License 2.0", url: "https://www.mozilla.org/en-US/MPL/2.0" },
    },
    paths: {},
    components: { schemas: {} },
  };
}

/** A document describing every given path. */
export function documentPaths(paths: readonly Path[], options: OpenApiOptions): OasDocument {
  const document = newOpenApiDocument(options.vaultVersion, options.info);
  for (const path of paths) documentPath(path, options, document);
  return document;
}

/** Whether an OpenAPI path matches a special-paths entry (`*` suffix, `+` segment wildcards). */
export function specialPathMatch(path: string, specialPaths: readonly string[]): boolean {
  const pathParts = path.split("/");
  const matchesByParts = (patternParts: string[]): boolean => {
    if (pathParts.length < patternParts.length) return false;
    for (const [index, pattern] of patternParts.entries()) {
      const part = pathParts[index] ?? "";
      if (pattern === "+") continue;
      if (pattern === "*") return true;
      if (pattern.endsWith("*") && part.startsWith(pattern.slice(0, -1))) return true;
      if (pattern !== part) return false;
    }
    return pathParts.length === patternParts.length;
  };
  return specialPaths.some(
    (special) =>
      special === path ||
      (special.endsWith("*") && path.startsWith(special.slice(0, -1))) ||
      (special.includes("+") && matchesByParts(special.split("/"))),
  );
}

function cleanString(text: string | undefined): string {
  return (text ?? "").trim().replace(/\s+/g, " ");
}

function withoutOperationHints(
  attributes: DisplayAttributes | undefined,
  sensitive = false,
): Record<string, unknown> | undefined {
  const { operationPrefix: _prefix, operationVerb: _verb, operationSuffix: _suffix, ...rest } = attributes ?? {};
  const shown: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(rest)) {
    if (value !== undefined && value !== null && value !== "" && value !== false) shown[key] = value;
  }
  if (sensitive) shown.sensitive = true;
  return Object.keys(shown).length > 0 ? shown : undefined;
}

function toLowerHyphenated(parts: readonly string[]): string {
  return parts
    .filter((part) => part !== "")
    .join("-")
    .toLowerCase();
}

/** `nomad-write-role` → `NomadWriteRole`, the stem of request/response schema names. */
export function hyphenatedToTitleCase(text: string): string {
  return text
    .split("-")
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join("");
}

/**
 * `prefix-verb-suffix`, lower-case: from the operation's display attributes,
 * then the path's, else the mount-type prefix, the operation (`write` for
 * update) and the path's words. A `|`-separated suffix picks one entry per
 * expanded path.
 */
export function constructOperationId(
  openApiPath: string,
  pathIndex: number,
  pathAttributes: DisplayAttributes | undefined,
  operation: PathOperation,
  operationAttributes: DisplayAttributes | undefined,
  defaultPrefix: string,
): string {
  let prefix = operationAttributes?.operationPrefix || pathAttributes?.operationPrefix || "";
  let verb = operationAttributes?.operationVerb || pathAttributes?.operationVerb || "";
  let suffix = operationAttributes?.operationSuffix || pathAttributes?.operationSuffix || "";

  let pathIndexOutOfRange = false;
  const suffixes = suffix.split("|");
  if (suffixes.length > 1 || pathIndex > 0) {
    const chosen = suffixes[pathIndex];
    if (chosen === undefined) {
      suffix = "";
      pathIndexOutOfRange = true;
    } else {
      suffix = chosen;
    }
  }

  const needPrefix = prefix === "" && verb === "";
  const needSuffix = suffix === "" && (verb === "" || pathIndexOutOfRange);
  if (needPrefix) prefix = defaultPrefix;
  if (verb === "") verb = operation === "update" ? "write" : operation;
  if (needSuffix) suffix = toLowerHyphenated(openApiPath.split(/[^\w]+/));
  return toLowerHyphenated([prefix, verb, suffix]);
}

function fieldProperty(field: FieldSchema): OasSchema {
  const type = field.type.openApi;
  const property: OasSchema = { type: type.type };
  const description = cleanString(field.description);
  if (description !== "") property.description = description;
  if (type.format !== undefined) property.format = type.format;
  if (type.pattern !== undefined) property.pattern = type.pattern;
  if (field.allowedValues !== undefined && field.allowedValues.length > 0) property.enum = [...field.allowedValues];
  if (field.default !== undefined && field.default !== null) property.default = field.default;
  if (field.deprecated === true) property.deprecated = true;
  const display = withoutOperationHints(field.displayAttrs, field.sensitive === true);
  if (display !== undefined) property["x-vault-displayAttrs"] = display;
  if (type.type === "array" && type.items !== undefined) property.items = { type: type.items };
  return property;
}

function parameter(name: string, field: FieldSchema, location: "path" | "query"): OasParameter {
  const type = field.type.openApi;
  const schema: OasSchema = { type: type.type };
  if (type.pattern !== undefined) schema.pattern = type.pattern;
  if (field.allowedValues !== undefined && field.allowedValues.length > 0) schema.enum = [...field.allowedValues];
  if (field.default !== undefined && field.default !== null) schema.default = field.default;
  const display = withoutOperationHints(field.displayAttrs, field.sensitive === true);
  if (display !== undefined) schema["x-vault-displayAttrs"] = display;
  const result: OasParameter = { name, in: location, schema };
  const description = cleanString(field.description);
  if (description !== "") result.description = description;
  if (location === "path") result.required = true;
  if (field.deprecated === true) result.deprecated = true;
  return result;
}

function byName(left: OasParameter, right: OasParameter): number {
  if (left.name === right.name) return 0;
  return left.name < right.name ? -1 : 1;
}

function objectSchema(fields: FieldMap): OasSchema {
  const properties: Record<string, OasSchema> = {};
  const required: string[] = [];
  for (const [name, field] of Object.entries(fields)) {
    properties[name] = fieldProperty(field);
    if (field.required === true) required.push(name);
  }
  const schema: OasSchema = { type: "object", properties };
  if (required.length > 0) schema.required = required.sort();
  return schema;
}

const STANDARD_LIST_RESPONSE = "StandardListResponse";

function documentPath(path: Path, options: OpenApiOptions, document: OasDocument): void {
  const expanded = expandPattern(path.anchoredPattern);
  // A pattern with no OpenAPI form is listed under its regex with no
  // operations, so a reader still sees that the endpoint exists.
  const forceUnpublished = expanded === undefined;
  const openApiPaths = expanded?.paths ?? [path.anchoredPattern];
  const captures = expanded?.captures ?? new Set<string>();
  const pathAttributes: DisplayAttributes | undefined =
    options.operationPrefix !== undefined && !path.displayAttrs?.operationPrefix
      ? { ...path.displayAttrs, operationPrefix: options.operationPrefix }
      : path.displayAttrs;
  const tags =
    options.backendType === BackendType.Logical
      ? ["secrets"]
      : options.backendType === BackendType.Credential
        ? ["auth"]
        : [];

  const queryFields: Record<string, FieldSchema> = {};
  const bodyFields: Record<string, FieldSchema> = {};
  for (const [name, field] of Object.entries(path.fields)) {
    if (captures.has(name)) continue;
    if (field.query === true) queryFields[name] = field;
    else bodyFields[name] = field;
  }

  for (const [pathIndex, openApiPathText] of openApiPaths.entries()) {
    let openApiPath = openApiPathText;
    const item: OasPathItem = {};
    const description = cleanString(path.helpSynopsis);
    if (description !== "") item.description = description;

    const parameters: OasParameter[] = [];
    const pathParameterNames = new Set<string>();
    for (const match of openApiPath.matchAll(/\{(\w+)\}/g)) {
      const name = match[1] ?? "";
      const field = Object.hasOwn(path.fields, name) ? path.fields[name] : undefined;
      if (field === undefined || pathParameterNames.has(name)) continue;
      pathParameterNames.add(name);
      parameters.push(parameter(name, field, "path"));
    }
    parameters.sort(byName);
    if (parameters.length > 0) item.parameters = parameters;
    if (specialPathMatch(openApiPath, options.specialPaths.root)) item["x-vault-sudo"] = true;
    if (specialPathMatch(openApiPath, options.specialPaths.unauthenticated)) item["x-vault-unauthenticated"] = true;
    const display = withoutOperationHints(path.displayAttrs);
    if (display !== undefined) item["x-vault-displayAttrs"] = display;

    let listOperation: OasOperation | undefined;
    for (const [operation, spec] of path.operations) {
      if (spec.unpublished === true || forceUnpublished) continue;
      if (operation === "create") {
        item["x-vault-createSupported"] = true;
        if (path.operations.has("update")) continue;
      }
      const operationId = constructOperationId(
        openApiPath,
        pathIndex,
        pathAttributes,
        operation,
        spec.displayAttrs,
        options.requestResponsePrefix,
      );
      const built = buildOperation(path, spec, operation, operationId, tags, { queryFields, bodyFields }, document);
      switch (operation) {
        case "create":
        case "update":
          item.post = built;
          break;
        case "patch":
          item.patch = built;
          break;
        case "read":
          item.get = built;
          break;
        case "delete":
          item.delete = built;
          break;
        case "list":
          listOperation = built;
          break;
      }
    }

    // Vault routes a trailing-slash path only to list operations.
    const hasTrailingSlash = openApiPath.endsWith("/");
    const hasOthers = item.get !== undefined || item.post !== undefined || item.patch !== undefined || item.delete !== undefined;
    if (hasTrailingSlash && hasOthers) {
      options.logger?.warn("OpenAPI: dropping non-list operations of a path that requires a trailing slash", {
        path: openApiPath,
      });
      delete item.get;
      delete item.post;
      delete item.patch;
      delete item.delete;
    }
    if (listOperation === undefined || (!hasTrailingSlash && hasOthers)) {
      document.paths[`/${openApiPath}`] = item;
    }
    if (listOperation !== undefined) {
      if (!hasTrailingSlash) openApiPath += "/";
      const listItem: OasPathItem = {};
      if (item.description !== undefined) listItem.description = item.description;
      if (item.parameters !== undefined) listItem.parameters = item.parameters;
      if (specialPathMatch(openApiPath, options.specialPaths.root)) listItem["x-vault-sudo"] = true;
      if (specialPathMatch(openApiPath, options.specialPaths.unauthenticated)) {
        listItem["x-vault-unauthenticated"] = true;
      }
      if (item["x-vault-displayAttrs"] !== undefined) listItem["x-vault-displayAttrs"] = item["x-vault-displayAttrs"];
      listItem.get = listOperation;
      document.paths[`/${openApiPath}`] = listItem;
    }
  }
}

function buildOperation(
  path: Path,
  spec: OperationSpec,
  operation: PathOperation,
  operationId: string,
  tags: string[],
  fields: { queryFields: Record<string, FieldSchema>; bodyFields: Record<string, FieldSchema> },
  document: OasDocument,
): OasOperation {
  const built: OasOperation = { operationId, responses: {} };
  const summary = (spec.summary ?? path.helpSynopsis).trim();
  if (summary !== "") built.summary = summary;
  const description = (spec.description ?? "").trim();
  if (description !== "") built.description = description;
  if (spec.deprecated === true) built.deprecated = true;
  if (tags.length > 0) built.tags = [...tags];

  if (operation === "create" || operation === "update" || operation === "patch") {
    // Query fields are body fields for methods that carry a body.
    const schema = objectSchema({ ...fields.bodyFields, ...fields.queryFields });
    if (path.takesArbitraryInput) schema.additionalProperties = true;
    const contentType = operation === "patch" ? "application/merge-patch+json" : "application/json";
    if (Object.keys(schema.properties ?? {}).length > 0) {
      const requestName = `${hyphenatedToTitleCase(operationId)}Request`;
      document.components.schemas[requestName] = schema;
      built.requestBody = {
        required: true,
        content: { [contentType]: { schema: { $ref: `#/components/schemas/${requestName}` } } },
      };
    } else if (path.takesArbitraryInput) {
      built.requestBody = { required: true, content: { [contentType]: { schema } } };
    }
  } else {
    const parameters: OasParameter[] = [];
    if (operation === "list") {
      parameters.push({
        name: "list",
        description: "Must be set to `true`",
        required: true,
        in: "query",
        schema: { type: "string", enum: ["true"] },
      });
    }
    for (const [name, field] of Object.entries(fields.queryFields)) parameters.push(parameter(name, field, "query"));
    parameters.sort(byName);
    if (parameters.length > 0) built.parameters = parameters;
  }

  const responses = spec.responses ?? {};
  if (Object.keys(responses).length === 0) {
    if (operation === "delete") {
      built.responses["204"] = { description: "empty body" };
    } else if (operation === "list") {
      built.responses["200"] = {
        description: "OK",
        content: { "application/json": { schema: { $ref: `#/components/schemas/${STANDARD_LIST_RESPONSE}` } } },
      };
      document.components.schemas[STANDARD_LIST_RESPONSE] = {
        type: "object",
        properties: { keys: { type: "array", items: { type: "string" } } },
      };
    } else {
      built.responses["200"] = { description: "OK" };
    }
  }
  for (const [code, doc] of Object.entries(responses)) {
    const response: OasResponse = { description: doc.description };
    if (doc.fields !== undefined && Object.keys(doc.fields).length > 0) {
      const responseName = `${hyphenatedToTitleCase(operationId)}Response`;
      const { required: _required, ...schema } = objectSchema(doc.fields);
      document.components.schemas[responseName] = schema;
      response.content = { "application/json": { schema: { $ref: `#/components/schemas/${responseName}` } } };
    }
    built.responses[code] = response;
  }
  return built;
}
