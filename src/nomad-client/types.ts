// Nomad's JSON objects, with field names exactly as Nomad writes them (Go field
// names, reference nomad.md §2.3). Schemas accept what Nomad really sends — Go nil
// slices arrive as null, older servers omit Roles/ExpirationTTL — and normalise it.
import { z } from "zod";

export type NomadTokenType = "client" | "management";

export interface NomadRoleLink {
  ID: string;
  Name: string;
}

export interface NomadAclToken {
  AccessorID: string;
  SecretID: string;
  Name: string;
  Type: string;
  Policies: string[];
  Roles: NomadRoleLink[];
  Global: boolean;
  Hash: string;
  CreateTime: string;
  /** RFC 3339 time, or null when the token never expires. */
  ExpirationTime: string | null;
  /** Go duration text such as "1h0m0s"; "" when the token has no TTL. */
  ExpirationTTL: string;
  CreateIndex: number;
  ModifyIndex: number;
}

/** What GET /v1/acl/tokens lists: a token without its secret. */
export type NomadAclTokenStub = Omit<NomadAclToken, "SecretID">;

export interface NomadAclRole {
  ID: string;
  Name: string;
  Description: string;
  Policies: { Name: string }[];
  Hash: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface NomadAgentSelf {
  /** Version of the agent answering, e.g. "1.6.3" (no prerelease suffix). */
  version: string | undefined;
  /** Full version text, e.g. "1.7.0-beta.1+ent". */
  fullVersion: string | undefined;
  region: string | undefined;
  datacenter: string | undefined;
}

const nullableList = <T extends z.ZodType>(item: T) =>
  z
    .array(item)
    .nullish()
    .transform((value) => value ?? []);

const roleLinkSchema = z.object({
  ID: z.string().nullish().transform((value) => value ?? ""),
  Name: z.string().nullish().transform((value) => value ?? ""),
});

const tokenFields = {
  AccessorID: z.string().min(1),
  Name: z.string().nullish().transform((value) => value ?? ""),
  Type: z.string(),
  Policies: nullableList(z.string()),
  Roles: nullableList(roleLinkSchema),
  Global: z.boolean().nullish().transform((value) => value ?? false),
  Hash: z.string().nullish().transform((value) => value ?? ""),
  CreateTime: z.string().nullish().transform((value) => value ?? ""),
  ExpirationTime: z.string().nullish().transform((value) => value ?? null),
  ExpirationTTL: z
    .union([z.string(), z.number()])
    .nullish()
    .transform((value) => (typeof value === "number" ? (value === 0 ? "" : `${value}ns`) : (value ?? ""))),
  CreateIndex: z.number(),
  ModifyIndex: z.number(),
};

export const tokenSchema: z.ZodType<NomadAclToken> = z.object({ ...tokenFields, SecretID: z.string().min(1) });
export const tokenStubSchema: z.ZodType<NomadAclTokenStub> = z.object(tokenFields);
export const tokenStubListSchema = nullableList(tokenStubSchema);

export const roleSchema: z.ZodType<NomadAclRole> = z.object({
  ID: z.string().min(1),
  Name: z.string(),
  Description: z.string().nullish().transform((value) => value ?? ""),
  Policies: nullableList(z.object({ Name: z.string() })),
  Hash: z.string().nullish().transform((value) => value ?? ""),
  CreateIndex: z.number(),
  ModifyIndex: z.number(),
});

const versionInfoSchema = z.object({
  Version: z.string().nullish(),
  VersionPrerelease: z.string().nullish(),
  VersionMetadata: z.string().nullish(),
});

/** Only the parts of /v1/agent/self the engine uses; the rest is large and agent-specific. */
export const agentSelfSchema = z
  .object({
    config: z
      .object({
        // Current Nomad nests a VersionInfo object; very old agents wrote a string.
        Version: z.union([versionInfoSchema, z.string()]).nullish(),
        Region: z.string().nullish(),
        Datacenter: z.string().nullish(),
      })
      .nullish(),
    member: z.object({ Tags: z.record(z.string(), z.string()).nullish() }).nullish(),
  })
  .transform((raw): NomadAgentSelf => {
    const info = raw.config?.Version;
    let fullVersion: string | undefined;
    if (typeof info === "string") {
      fullVersion = info;
    } else if (info?.Version) {
      fullVersion = info.Version;
      if (info.VersionPrerelease) fullVersion += `-${info.VersionPrerelease}`;
      if (info.VersionMetadata) fullVersion += `+${info.VersionMetadata}`;
    } else {
      // Servers gossip their build in the serf tags.
      fullVersion = raw.member?.Tags?.build ?? undefined;
    }
    return {
      version: fullVersion === undefined ? undefined : coreVersion(fullVersion),
      fullVersion,
      region: raw.config?.Region ?? undefined,
      datacenter: raw.config?.Datacenter ?? undefined,
    };
  });

/** "1.7.0-beta.1+ent" → "1.7.0"; a leading "v" is dropped. */
export function coreVersion(version: string): string | undefined {
  const match = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(version.trim());
  if (match === null) return undefined;
  return `${match[1]}.${match[2]}.${match[3] ?? "0"}`;
}

/** Nomad 1.4.0 added ACL roles and token expiration (GH-14320). */
export const NOMAD_ROLES_AND_EXPIRATION_MIN_VERSION = "1.4.0";

/**
 * True when `version` is at least `minimum`, comparing major.minor.patch only.
 * Unknown versions answer false so callers fall back to the older behaviour.
 */
export function nomadVersionAtLeast(version: string | undefined, minimum: string): boolean {
  const have = version === undefined ? undefined : coreVersion(version);
  const want = coreVersion(minimum);
  if (have === undefined || want === undefined) return false;
  const left = have.split(".").map(Number);
  const right = want.split(".").map(Number);
  for (let index = 0; index < 3; index++) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) return difference > 0;
  }
  return true;
}

export function supportsRolesAndExpiration(version: string | undefined): boolean {
  return nomadVersionAtLeast(version, NOMAD_ROLES_AND_EXPIRATION_MIN_VERSION);
}
