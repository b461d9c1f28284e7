// The Nomad engine's entry point. Its paths (config/access, config/lease, role/,
// creds/) land in the following commits; until then every request is answered
// "unsupported path" (404), which is the truth about what this build can do.
import { BackendType, type BackendFactory } from "../../framework/logical.ts";
import { ErrorCode, PluginError } from "../../shared/errors.ts";

export const nomadBackendFactory: BackendFactory = () => ({
  setup: async () => undefined,
  initialize: async () => undefined,
  handleRequest: async () => {
    throw new PluginError(ErrorCode.UnsupportedPath, "unsupported path");
  },
  handleExistenceCheck: async () => ({ checkFound: false, exists: false }),
  specialPaths: () => ({ root: [], unauthenticated: [], localStorage: [], sealWrapStorage: ["config/access"] }),
  type: () => BackendType.Logical,
  invalidateKey: async () => undefined,
  cleanup: async () => undefined,
});
