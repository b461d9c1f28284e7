// Public surface of the Nomad client. The engine imports from here only.
export { NomadClient, type CreateTokenRequest, type DeleteTokenResult } from "./client.ts";
export {
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_NOMAD_ADDRESS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_RETRY_POLICY,
  mergeNomadConfig,
  nomadConfigFromEnv,
  parseGoBool,
  type EnvFileReader,
  type EnvSource,
  type NomadCallRecord,
  type NomadClientConfig,
  type NomadRetryPolicy,
} from "./config.ts";
export { maskNomadText, nomadFailureDetail, type NomadFailureDetail } from "./failure.ts";
export {
  NOMAD_ROLES_AND_EXPIRATION_MIN_VERSION,
  nomadVersionAtLeast,
  supportsRolesAndExpiration,
  type NomadAclRole,
  type NomadAclToken,
  type NomadAclTokenStub,
  type NomadAgentSelf,
  type NomadRoleLink,
  type NomadTokenType,
} from "./types.ts";
export {
  validateAccessConfig,
  validateCertificatePem,
  validateNomadAddress,
  validatePrivateKeyPem,
  type AccessConfigFields,
} from "./validate.ts";
