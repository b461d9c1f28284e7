// config/access: where Nomad is and the management token used to mint tokens.
// Parity with the builtin: same fields, token and client_key never returned,
// bootstrap of Nomad ACLs when no token is given, seal-wrapped storage.
// Beyond it: partial updates keep every stored value (the builtin resets
// max_token_name_length), and an address or PEM the client cannot use is
// stored as the builtin does but answered with a warning naming the field.
import * as z from "../../shared/schema.ts";
import { definePath, type HandlerEnv } from "../../framework/path.ts";
import type { FieldData } from "../../framework/field-data.ts";
import { TypeBool, TypeDurationSecond, TypeInt, TypeString } from "../../framework/field-types.ts";
import { errorResponse } from "../../framework/response.ts";
import type { Request, Response, Storage } from "../../framework/logical.ts";
import { getJSON, putJSON } from "../../framework/storage.ts";
import { validateAccessConfig } from "../../nomad-client/index.ts";
import type { NomadEngine } from "./backend.ts";
import {
  NOMAD_DEFAULT_MAX_EXPIRATION_SECONDS,
  NOMAD_DEFAULT_MIN_EXPIRATION_SECONDS,
  type ExpirationPolicy,
} from "./lease-policy.ts";
import { MIN_TOKEN_NAME_LENGTH, NOMAD_MAX_TOKEN_NAME_BYTES } from "./token-name.ts";
import { WRITES_REPLICATED_STORAGE } from "../../framework/replication.ts";

export const CONFIG_ACCESS_KEY = "config/access";

const accessFields = {
  address: {
    type: TypeString,
    description: "Nomad server address",
  },
  token: {
    type: TypeString,
    description: "Token for API calls",
    sensitive: true,
  },
  max_token_name_length: {
    type: TypeInt,
    description: "Max length for name of generated Nomad tokens",
  },
  ca_cert: {
    type: TypeString,
    description: "CA certificate to use when verifying Nomad server certificate, must be x509 PEM encoded.",
  },
  client_cert: {
    type: TypeString,
    description: "Client certificate used for Nomad's TLS communication, must be x509 PEM encoded and if this is set you need to also set client_key.",
  },
  client_key: {
    type: TypeString,
    description: "Client key used for Nomad's TLS communication, must be x509 PEM encoded and if this is set you need to also set client_cert.",
    sensitive: true,
  },
  region: {
    type: TypeString,
    description: "Nomad region to send requests to (sent as ?region=). Defaults to NOMAD_REGION, then the agent's own region.",
  },
  token_expiration: {
    type: TypeBool,
    description:
      "Create Nomad tokens with an expiration (ExpirationTTL) equal to the lease's max TTL, so a token dies by itself if a revoke never arrives. Default true; ignored for Nomad older than 1.4.",
  },
  token_min_expiration_ttl: {
    type: TypeDurationSecond,
    description: "The shortest token expiration the Nomad servers accept (their acl.token_min_expiration_ttl). Default 1m.",
  },
  token_max_expiration_ttl: {
    type: TypeDurationSecond,
    description:
      "The longest token expiration the Nomad servers accept (their acl.token_max_expiration_ttl). Default 24h; leases are capped to it.",
  },
} as const;

type AccessData = FieldData<typeof accessFields>;

export function pathConfigAccess(engine: NomadEngine) {
  const write = {
    handler: (request: Request, data: AccessData, env: HandlerEnv) => pathConfigAccessWrite(engine, request, data, env),
    // The builtin's operation id (nomad-configure-access), which generated API clients are named after.
    displayAttrs: { operationVerb: "configure", operationSuffix: "access" },
    ...WRITES_REPLICATED_STORAGE,
  };
  return definePath({
    pattern: "config/access",
    fields: accessFields,
    existenceCheck: async (request) => (await readAccessConfig(request.storage)) !== null,
    operations: {
      read: { handler: (request) => pathConfigAccessRead(request), summary: "Read the Nomad access configuration." },
      create: write,
      update: write,
      delete: { handler: (request) => pathConfigAccessDelete(engine, request), ...WRITES_REPLICATED_STORAGE },
    },
    displayAttrs: { operationPrefix: "nomad", operationSuffix: "access-configuration" },
    helpSynopsis: CONFIG_ACCESS_HELP_SYNOPSIS,
    helpDescription: CONFIG_ACCESS_HELP_DESCRIPTION,
  });
}

async function pathConfigAccessRead(request: Request): Promise<Response | null> {
  const access = await readAccessConfig(request.storage);
  if (access === null) return null;
  return {
    data: {
      address: access.address,
      max_token_name_length: access.max_token_name_length,
      ca_cert: access.ca_cert,
      client_cert: access.client_cert,
      region: access.region,
      token_expiration: access.token_expiration,
      token_min_expiration_ttl: access.token_min_expiration_ttl,
      token_max_expiration_ttl: access.token_max_expiration_ttl,
    },
  };
}

async function pathConfigAccessWrite(
  engine: NomadEngine,
  request: Request,
  data: AccessData,
  env: HandlerEnv,
): Promise<Response | null> {
  const access: AccessConfig = { ...defaultAccessConfig(), ...(await readAccessConfig(request.storage)) };
  for (const field of ["address", "token", "ca_cert", "client_cert", "client_key", "region"] as const) {
    const supplied = data.getOk(field);
    if (supplied.ok) access[field] = supplied.value;
  }
  for (const field of ["max_token_name_length", "token_min_expiration_ttl", "token_max_expiration_ttl"] as const) {
    const supplied = data.getOk(field);
    if (supplied.ok) access[field] = supplied.value;
  }
  const expiration = data.getOk("token_expiration");
  if (expiration.ok) access.token_expiration = expiration.value;

  // The builtin stores any address and PEM text, and Terraform's provider tests
  // write such values (address "foobar", a placeholder client_key) and read them
  // back: store them too, warn now, and name the field when creds need a client.
  const warnings = validateAccessConfig(access).map(
    (problem) => `${problem}; stored as given, but creds, renew and revoke fail until config/access is fixed`,
  );
  const problems: string[] = [];
  const nameLength = access.max_token_name_length;
  if (nameLength !== 0 && (nameLength < MIN_TOKEN_NAME_LENGTH || nameLength > NOMAD_MAX_TOKEN_NAME_BYTES)) {
    problems.push(
      `max_token_name_length must be 0 (Nomad's limit of ${NOMAD_MAX_TOKEN_NAME_BYTES}) or between ${MIN_TOKEN_NAME_LENGTH} and ${NOMAD_MAX_TOKEN_NAME_BYTES}, got ${nameLength}`,
    );
  }
  if (access.region !== "" && !/^[A-Za-z0-9_.-]{1,128}$/.test(access.region)) {
    problems.push("region must be a Nomad region name (letters, digits, '_', '.', '-')");
  }
  if (access.token_min_expiration_ttl < 1) problems.push("token_min_expiration_ttl must be at least 1s");
  if (access.token_max_expiration_ttl < access.token_min_expiration_ttl) {
    problems.push("token_max_expiration_ttl must not be shorter than token_min_expiration_ttl");
  }
  if (problems.length > 0) return errorResponse(problems.join("; "));

  if (access.token === "") {
    let bootstrapClient;
    try {
      bootstrapClient = engine.clients.clientFor(access);
      const bootstrapped = await bootstrapClient.bootstrap();
      access.token = bootstrapped.SecretID;
      env.logger.info("bootstrapped Nomad ACLs; the bootstrap token is now the engine's management token", {
        accessor_id: bootstrapped.AccessorID,
      });
    } catch (error) {
      return errorResponse(`Token not provided and failed to bootstrap ACLs: ${(error as Error).message}`);
    } finally {
      await bootstrapClient?.close();
    }
  }

  await writeAccessConfig(request.storage, access);
  await engine.clients.reset();
  return warnings.length > 0 ? { warnings } : null;
}

async function pathConfigAccessDelete(engine: NomadEngine, request: Request): Promise<Response | null> {
  await request.storage.delete(CONFIG_ACCESS_KEY);
  await engine.clients.reset();
  return null;
}

const accessConfigSchema = z.object({
  address: z._default(z.string(), ""),
  token: z._default(z.string(), ""),
  max_token_name_length: z._default(z.int(), 0),
  ca_cert: z._default(z.string(), ""),
  client_cert: z._default(z.string(), ""),
  client_key: z._default(z.string(), ""),
  region: z._default(z.string(), ""),
  token_expiration: z._default(z.boolean(), true),
  token_min_expiration_ttl: z._default(z.int(), NOMAD_DEFAULT_MIN_EXPIRATION_SECONDS),
  token_max_expiration_ttl: z._default(z.int(), NOMAD_DEFAULT_MAX_EXPIRATION_SECONDS),
});

/** Stored under config/access (seal-wrapped); wire names stay snake_case. */
export type AccessConfig = z.infer<typeof accessConfigSchema>;

export function defaultAccessConfig(): AccessConfig {
  return accessConfigSchema.parse({});
}

export function readAccessConfig(storage: Storage): Promise<AccessConfig | null> {
  return getJSON(storage, CONFIG_ACCESS_KEY, accessConfigSchema);
}

export function writeAccessConfig(storage: Storage, access: AccessConfig): Promise<void> {
  return putJSON(storage, CONFIG_ACCESS_KEY, access, { sealWrap: true });
}

export function expirationPolicy(access: AccessConfig | null, nomadSupportsExpiration: boolean): ExpirationPolicy {
  const settings = access ?? defaultAccessConfig();
  return {
    enabled: settings.token_expiration && nomadSupportsExpiration,
    minTtl: settings.token_min_expiration_ttl,
    maxTtl: settings.token_max_expiration_ttl,
  };
}

const CONFIG_ACCESS_HELP_SYNOPSIS = "Configure the access information for Nomad.";
const CONFIG_ACCESS_HELP_DESCRIPTION = `This path configures the address of the Nomad server and the management
token the engine uses to create and delete Nomad ACL tokens.

If no token is given, the engine bootstraps Nomad's ACL system and keeps the
bootstrap token. The address and token can also come from the Vault server's
NOMAD_ADDR and NOMAD_TOKEN environment variables (and NOMAD_REGION, NOMAD_CACERT,
NOMAD_CLIENT_CERT, NOMAD_CLIENT_KEY, NOMAD_TLS_SERVER_NAME, NOMAD_SKIP_VERIFY).

The token and client_key are never returned when this path is read. Fields that
are not supplied keep their stored values.`;
