// How long a creds lease lives, and how long its Nomad token lives.
//
// The builtin engine creates tokens with no Nomad-side expiry, so a revoke that
// never arrives leaves a permanent token. We give every token an ExpirationTTL
// equal to the lease's effective max TTL (clamped to the bounds Nomad accepts,
// by default 1 minute to 24 hours), and we never let the lease outlive the
// token: if the max TTL exceeds Nomad's upper bound, the lease's max TTL is cut
// to it. Renewals are capped at the token's ExpirationTime (see secret-token.ts).

export interface TtlPair {
  /** seconds; 0 = not set here */
  ttl: number;
  /** seconds; 0 = not set here */
  maxTtl: number;
}

export interface ExpirationPolicy {
  enabled: boolean;
  /** Nomad's acl.token_min_expiration_ttl, seconds. */
  minTtl: number;
  /** Nomad's acl.token_max_expiration_ttl, seconds. */
  maxTtl: number;
}

export const NOMAD_DEFAULT_MIN_EXPIRATION_SECONDS = 60;
export const NOMAD_DEFAULT_MAX_EXPIRATION_SECONDS = 24 * 3600;

export interface LeasePlan {
  /** Lease TTL in seconds handed to Vault (never 0: the mount default is resolved here). */
  ttl: number;
  /** Lease max TTL in seconds. */
  maxTtl: number;
  /** Nomad ExpirationTTL in seconds, or null when tokens are created without expiry. */
  tokenTtl: number | null;
  warnings: string[];
}

const firstSet = (...values: number[]): number => values.find((value) => value > 0) ?? 0;

export function formatSeconds(seconds: number): string {
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = seconds % 60;
  return `${hours > 0 ? `${hours}h` : ""}${minutes > 0 ? `${minutes}m` : ""}${rest > 0 || seconds === 0 ? `${rest}s` : ""}`;
}

/**
 * @param role per-role TTLs (take precedence, Vault issue #7305)
 * @param mount config/lease TTLs
 * @param system the mount's default and max lease TTLs from Vault, seconds
 */
export function planLease(role: TtlPair, mount: TtlPair, system: TtlPair, expiration: ExpirationPolicy): LeasePlan {
  const warnings: string[] = [];
  let maxTtl = firstSet(role.maxTtl, mount.maxTtl, system.maxTtl);
  if (system.maxTtl > 0 && maxTtl > system.maxTtl) maxTtl = system.maxTtl;
  let ttl = firstSet(role.ttl, mount.ttl, system.ttl, maxTtl);

  let tokenTtl: number | null = null;
  if (expiration.enabled) {
    if (maxTtl === 0 || maxTtl > expiration.maxTtl) {
      if (maxTtl > expiration.maxTtl) {
        warnings.push(
          `max_ttl of ${formatSeconds(maxTtl)} exceeds the longest Nomad token expiration (${formatSeconds(expiration.maxTtl)}); the lease's max_ttl is capped accordingly`,
        );
      }
      maxTtl = expiration.maxTtl;
    }
    tokenTtl = Math.max(maxTtl, expiration.minTtl);
  }
  if (maxTtl > 0 && ttl > maxTtl) ttl = maxTtl;
  return { ttl, maxTtl, tokenTtl, warnings };
}

/**
 * The TTL a renewal may grant: the requested or configured TTL, cut so the lease
 * ends no later than the token does. Returns 0 when the token is already expired.
 */
export function renewalTtl(wanted: number, tokenExpiresAt: Date | null, now: Date): number {
  if (tokenExpiresAt === null) return wanted;
  const remaining = Math.floor((tokenExpiresAt.getTime() - now.getTime()) / 1000);
  return Math.max(0, Math.min(wanted, remaining));
}
