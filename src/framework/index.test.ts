// The public surface, used the way an engine uses it: a path with fields and
// an existence check, a secret with renew/revoke, driven like Vault drives it.
import { expect, it } from "vitest";
import * as z from "../shared/schema.ts";
import {
  defineSecret,
  definePath,
  errorResponse,
  FrameworkBackend,
  genericNameRegex,
  getJSON,
  NANOS_PER_SECOND,
  putJSON,
  TypeDurationSecond,
  TypeString,
} from "./index.ts";
import { setupTestBackend, testRequest } from "./testing.ts";

const role = z.object({ ttl: z.number() });

const token = defineSecret({
  type: "token",
  internalData: z.object({ accessor_id: z.string() }),
  renew: async (_request, _data, env) => env.renewResponse({ ttl: 60 }),
  revoke: async () => null,
});

const backend = new FrameworkBackend({
  help: "Example.",
  operationPrefix: "example",
  secrets: [token],
  paths: [
    definePath({
      pattern: `role/${genericNameRegex("name")}`,
      fields: {
        name: { type: TypeString, description: "Role name." },
        ttl: { type: TypeDurationSecond, default: "1h" },
      },
      existenceCheck: async (request, data) => (await request.storage.get(`role/${data.get("name")}`)) !== null,
      operations: {
        create: async (request, data) => {
          await putJSON(request.storage, `role/${data.get("name")}`, { ttl: data.get("ttl") });
          return null;
        },
        read: async (request, data) => {
          const stored = await getJSON(request.storage, `role/${data.get("name")}`, role);
          return stored === null ? null : { data: stored };
        },
      },
    }),
    definePath({
      pattern: `creds/${genericNameRegex("name")}`,
      fields: { name: { type: TypeString } },
      operations: {
        read: async (request, data) => {
          const stored = await getJSON(request.storage, `role/${data.get("name")}`, role);
          if (stored === null) return errorResponse(`unknown role ${data.get("name")}`);
          return token.response({ token: "t" }, { accessor_id: "acc" });
        },
      },
    }),
  ],
});

it("runs Vault's create → read → issue → renew → revoke sequence", async () => {
  const harness = await setupTestBackend(backend);
  const check = await backend.handleExistenceCheck(
    testRequest({ operation: "update", path: "role/web", storage: harness.storage }),
  );
  expect(check).toEqual({ checkFound: true, exists: false });
  expect(await harness.request({ operation: "create", path: "role/web", data: { ttl: "90s" } })).toBeNull();
  expect(await harness.request({ operation: "read", path: "role/web" })).toEqual({ data: { ttl: 90 } });
  expect(await harness.request({ operation: "read", path: "creds/nope" })).toEqual({
    data: { error: "unknown role nope" },
  });

  const issued = await harness.request({ operation: "read", path: "creds/web" });
  const secret = issued?.secret;
  if (secret === undefined) throw new Error("no lease");
  const renewed = await harness.request({ operation: "renew", path: "creds/web", secret });
  expect(renewed?.secret?.leaseOptions.ttl).toBe(60n * NANOS_PER_SECOND);
  expect(renewed?.secret?.internalData).toEqual({ accessor_id: "acc", secret_type: "token" });
  expect(await harness.request({ operation: "revoke", path: "creds/web", secret: renewed?.secret ?? null })).toBeNull();
});
