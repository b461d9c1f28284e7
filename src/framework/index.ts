// The framework's public surface: write a secrets engine as declared paths and
// secrets (one file per path, as Go engines do on framework.Backend), then
// hand a FrameworkBackend to the Vault transport.
//
//   const pathRoles = definePath({
//     pattern: `role/${genericNameRegex("name")}`,
//     fields: { name: { type: TypeString, description: "Role name" },
//               ttl: { type: TypeDurationSecond, default: "1h" } },
//     existenceCheck: async (req, data) => (await req.storage.get(`role/${data.get("name")}`)) !== null,
//     operations: { read: pathRoleRead, create: pathRoleWrite, update: pathRoleWrite },
//     helpSynopsis: "Manage roles.",
//   });
//
// Handlers get (request, data, env): `request.storage` is the mount's storage,
// `data.get/getOk` the typed fields, `env` the system view, logger and mount
// config. They return a Response, null (Vault: 404 for reads, 204 otherwise)
// or errorResponse(...) for bad input (400), and throw PluginError otherwise.
//
// Test helpers (in-memory storage, fake system view) live in ./testing.ts.

export { FrameworkBackend, type BackendDefinition, type BackendHooks } from "./backend.ts";
export {
  FieldData,
  type DisplayAttributes,
  type FieldLookup,
  type FieldMap,
  type FieldSchema,
  type FieldValue,
} from "./field-data.ts";
export {
  type FieldType,
  type HeaderMap,
  type OpenApiType,
  TypeBool,
  TypeCommaIntSlice,
  TypeCommaStringSlice,
  TypeDurationSecond,
  TypeFloat,
  TypeHeader,
  TypeInt,
  TypeInt64,
  TypeKVPairs,
  TypeLowerCaseString,
  TypeMap,
  TypeNameString,
  TypeSignedDurationSecond,
  TypeSlice,
  TypeString,
  TypeStringSlice,
  TypeTime,
  GO_ZERO_TIME_MS,
  parseDurationSecond,
} from "./field-types.ts";
export {
  definePath,
  genericNameRegex,
  genericNameWithAtRegex,
  matchAllRegex,
  optionalParamRegex,
  Path,
  type ExistenceCheck,
  type HandlerEnv,
  type OperationHandler,
  type OperationSpec,
  type PathDefinition,
  type PathOperation,
  type ResponseDoc,
} from "./path.ts";
export {
  errorResponse,
  isErrorResponse,
  listResponse,
  listResponseWithInfo,
} from "./response.ts";
export {
  calculateTtl,
  defineSecret,
  nanosToSeconds,
  renewResponse,
  Secret,
  SECRET_TYPE_KEY,
  secondsToNanos,
  type RenewLease,
  type SecretDefinition,
  type SecretEnv,
  type SecretHandler,
  type TtlInputs,
  type TtlResult,
} from "./secret.ts";
export { decodeJsonEntry, getJSON, jsonStorageEntry, putJSON } from "./storage.ts";
export type { OpenApiInfo } from "./openapi.ts";
// logical.ts's lease `Secret` is re-exported as LeaseSecret; `Secret` here is the secret type above.
export type { Secret as LeaseSecret } from "./logical.ts";
export * from "./logical.ts";
