// creds/<name>: mints a Nomad ACL token for a role and leases it. Parity with
// the builtin: read-only path, `role "<name>" not found`, response secret_id and
// accessor_id, secret type `token`, only the accessor kept in internal data.
// Beyond it: ACL roles, per-role TTLs, a Nomad-side expiry the lease never
// outlives, and a token name that keeps its unique suffix when truncated.
import { definePath, genericNameRegex, type HandlerEnv } from "../../framework/path.ts";
import type { FieldData } from "../../framework/field-data.ts";
import { TypeString } from "../../framework/field-types.ts";
import { errorResponse } from "../../framework/response.ts";
import type { Request, Response } from "../../framework/logical.ts";
import { nanosToSeconds, secondsToNanos } from "../../framework/secret.ts";
import { ErrorCode, PluginError } from "../../shared/errors.ts";
import { nomadFailureDetail, type NomadClient } from "../../nomad-client/index.ts";
import type { NomadEngine } from "./backend.ts";
import { planLease } from "./lease-policy.ts";
import { expirationPolicy } from "./path-config-access.ts";
import { readLeaseConfig } from "./path-config-lease.ts";
import { readRole } from "./path-roles.ts";
import { tokenName } from "./token-name.ts";
import { CREATES_LEASE } from "../../framework/replication.ts";
import { processMetrics } from "../../shared/metrics.ts";

const credsFields = {
  name: {
    type: TypeString,
    description: "Name of the role",
    required: true,
  },
} as const;

export function pathCredsCreate(engine: NomadEngine) {
  return definePath({
    pattern: `creds/${genericNameRegex("name")}`,
    fields: credsFields,
    operations: {
      read: {
        handler: (request, data, env) => pathTokenRead(engine, request, data, env),
        ...CREATES_LEASE,
        // Always asked: the token's Nomad-side expiry follows the mount's max TTL.
        systemCallsAhead: ["maxLeaseTtl"],
      },
    },
    displayAttrs: { operationPrefix: "nomad", operationVerb: "generate", operationSuffix: "credentials" },
    helpSynopsis: CREDS_HELP_SYNOPSIS,
    helpDescription: CREDS_HELP_DESCRIPTION,
  });
}

async function pathTokenRead(
  engine: NomadEngine,
  request: Request,
  data: FieldData<typeof credsFields>,
  env: HandlerEnv,
): Promise<Response | null> {
  const roleName = data.get("name");
  const role = await readRole(request.storage, roleName);
  if (role === null) return errorResponse(`role "${roleName}" not found`);

  const { client, access, hasToken } = await engine.clients.get(request.storage);
  if (!hasToken) return errorResponse(NOT_CONFIGURED);
  // Cached, so known before the host is asked anything.
  const lease = await readLeaseConfig(request.storage);
  // The mount's default TTL only counts when neither the role nor config/lease sets one.
  const needsMountDefault = role.ttl === 0 && (lease?.ttl ?? 0) === 0;
  const [supportsExpiration, defaultTtl, maxTtl] = await Promise.all([
    engine.clients.supportsExpirationAndRoles(request.storage),
    needsMountDefault ? env.system.defaultLeaseTtl() : 0n,
    env.system.maxLeaseTtl(),
  ]);
  if (role.roles.length > 0 && !supportsExpiration) {
    return errorResponse(`role "${roleName}" links Nomad ACL roles, which need Nomad 1.4 or newer`);
  }

  const plan = planLease(
    { ttl: role.ttl, maxTtl: role.max_ttl },
    { ttl: lease?.ttl ?? 0, maxTtl: lease?.max_ttl ?? 0 },
    { ttl: nanosToSeconds(defaultTtl), maxTtl: nanosToSeconds(maxTtl) },
    expirationPolicy(access, supportsExpiration),
  );

  const name = tokenName(roleName, request.displayName, access?.max_token_name_length ?? 0);
  let token;
  try {
    token = await client.createToken({
      ...(request.signal === undefined ? {} : { signal: request.signal }),
      ...(request.deadline === undefined ? {} : { deadline: request.deadline }),
      name,
      type: role.type === "management" ? "management" : "client",
      policies: role.policies,
      roles: role.roles,
      global: role.global,
      ...(plan.tokenTtl === null ? {} : { expirationTTLSeconds: plan.tokenTtl }),
    });
  } catch (error) {
    // Nomad's 400s are about what the role asks for (an unknown ACL role, say): the caller can fix them.
    if (PluginError.is(error, ErrorCode.NomadApi) && error.httpStatus === 400) return errorResponse(error.message);
    if (PluginError.is(error, ErrorCode.NomadApi) && /No path to region/.test(error.message)) {
      return errorResponse(`Nomad does not know the region "${access?.region ?? ""}" set in config/access: ${error.message}`);
    }
    if (nomadFailureDetail(error)?.mayHaveTakenEffect) await removeOrphan(client, name, env);
    throw error;
  }
  env.logger.debug("created Nomad token", { role: roleName, accessor_id: token.AccessorID, expires: token.ExpirationTime });

  const response = engine.secretToken.response(
    { secret_id: token.SecretID, accessor_id: token.AccessorID },
    { accessor_id: token.AccessorID },
  );
  if (response.secret !== undefined) {
    response.secret.leaseOptions.ttl = secondsToNanos(plan.ttl);
    response.secret.leaseOptions.maxTtl = secondsToNanos(plan.maxTtl);
  }
  if (plan.warnings.length > 0) response.warnings = [...(response.warnings ?? []), ...plan.warnings];
  return response;
}

/**
 * A create whose answer was lost (or that the caller abandoned) may still have
 * made a token that no lease knows of. Its name is unique, so we find it by
 * name and delete it. If Nomad cannot be asked now, the token's own expiration
 * still ends it; either way the stats line counts it.
 */
async function removeOrphan(client: NomadClient, name: string, env: HandlerEnv): Promise<void> {
  let orphans;
  try {
    orphans = await client.tokensNamed(name);
  } catch (error) {
    // Unknown whether a token exists: counted as left, so the operator sees it.
    processMetrics.recordOrphan(false);
    env.logger.warn("could not check Nomad for a token whose creation answer was lost; its expiration will end it", {
      token_name: name,
      error: (error as Error).message,
    });
    return;
  }
  for (const orphan of orphans) {
    try {
      await client.deleteToken(orphan.AccessorID);
      processMetrics.recordOrphan(true);
      env.logger.warn("deleted a Nomad token whose creation answer was lost", { accessor_id: orphan.AccessorID });
    } catch (error) {
      processMetrics.recordOrphan(false);
      env.logger.warn("could not delete a Nomad token whose creation answer was lost; its expiration will end it", {
        accessor_id: orphan.AccessorID,
        error: (error as Error).message,
      });
    }
  }
}

export const NOT_CONFIGURED =
  "Nomad access is not configured: write a management token to config/access (or set NOMAD_TOKEN for the Vault server)";

const CREDS_HELP_SYNOPSIS = "Generate a Nomad token from a specific Vault role.";
const CREDS_HELP_DESCRIPTION = `Each read of this path generates a Nomad token for the named role. A new token
is generated on each read, and its lease is revoked by deleting the token in
Nomad. The token carries a Nomad-side expiration, so it also dies by itself if a
revoke never arrives.`;
