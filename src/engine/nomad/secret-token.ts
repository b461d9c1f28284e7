// The `token` secret: a lease on one Nomad ACL token, known by its accessor.
// Renew extends the lease, never past the token's own Nomad expiration.
// Revoke deletes the token; beyond the builtin, a token that is already gone
// (Nomad's 400 "Cannot delete nonexistent tokens", or 404) counts as revoked,
// so a token deleted out of band never leaves an unrevocable lease.
import * as z from "../../shared/schema.ts";
import { calculateTtl, defineSecret, nanosToSeconds, type Secret } from "../../framework/secret.ts";
import { TypeString } from "../../framework/field-types.ts";
import type { Request, Response } from "../../framework/logical.ts";
import { ErrorCode, PluginError } from "../../shared/errors.ts";
import type { NomadClientCache } from "./client-cache.ts";
import { renewalTtl } from "./lease-policy.ts";
import { readLeaseConfig } from "./path-config-lease.ts";
import { readRole } from "./path-roles.ts";

export const SECRET_TOKEN_TYPE = "token";

const tokenInternalData = z.object({
  accessor_id: z.string({ error: (issue) => (issue.input === undefined ? "accessor_id is missing on the lease" : "unable to convert accessor_id") }),
});

/** creds/<role> is the path that issued the lease; renew uses that role's TTLs. */
function roleOfLease(request: Request): string | null {
  const match = /^creds\/(.+)$/.exec(request.path);
  return match === null ? null : (match[1] as string);
}

type TokenInternalData = z.infer<typeof tokenInternalData>;

export function secretToken(clients: NomadClientCache): Secret<TokenInternalData> {
  return defineSecret<TokenInternalData>({
    type: SECRET_TOKEN_TYPE,
    fields: {
      token: { type: TypeString, description: "Request token" },
    },
    internalData: tokenInternalData,

    renew: async (request, _data, env): Promise<Response | null> => {
      const { client } = await clients.get(request.storage);
      const roleName = roleOfLease(request);
      const [token, role, lease] = await Promise.all([
        client.readToken(env.internal.accessor_id),
        roleName === null ? null : readRole(request.storage, roleName),
        readLeaseConfig(request.storage),
      ]);
      if (token === undefined) {
        throw new PluginError(
          ErrorCode.UserError,
          `the Nomad token of this lease (accessor ${env.internal.accessor_id}) no longer exists; it cannot be renewed`,
        );
      }
      const ttl = role?.ttl || lease?.ttl || 0;
      const maxTtl = role?.max_ttl || lease?.max_ttl || 0;
      const calculated = await calculateTtl(env.system, {
        increment: nanosToSeconds(request.secret?.leaseOptions.increment ?? 0n),
        backendTtl: ttl,
        backendMaxTtl: maxTtl,
        startTime: request.secret?.leaseOptions.issueTime ?? null,
      });
      const expiresAt = token.ExpirationTime === null ? null : new Date(token.ExpirationTime);
      const granted = renewalTtl(calculated.ttl, expiresAt, new Date());
      if (granted === 0) {
        throw new PluginError(ErrorCode.UserError, "the Nomad token of this lease has expired; it cannot be renewed");
      }
      const response = env.renewResponse({ ttl: granted, maxTtl });
      const warnings = [...calculated.warnings];
      if (granted < calculated.ttl) warnings.push("TTL is capped at the Nomad token's expiration time");
      if (warnings.length > 0) response.warnings = warnings;
      return response;
    },

    revoke: async (request, _data, env): Promise<Response | null> => {
      const { client } = await clients.get(request.storage);
      const result = await client.deleteToken(env.internal.accessor_id);
      if (result.alreadyGone) {
        env.logger.info("Nomad token was already gone; lease revoked", { accessor_id: env.internal.accessor_id });
      }
      return null;
    },
  });
}
