// esbuild settings shared by everything packaged as a single executable: the
// plugin (scripts/build.mjs) and the runtime's floor (scripts/lib/bench-floor.mjs),
// so the floor is bundled exactly as the plugin is.

export const BUNDLE_OPTIONS = Object.freeze({
  bundle: true,
  platform: "node",
  target: "node24",
  format: "cjs",
  // PLUGIN_BUILD_READABLE=1 leaves names and layout alone, so a --cpu-prof or
  // heap snapshot of the executable names real functions (without esbuild's
  // keepNames, which wraps every closure and would distort the profile).
  minify: process.env.PLUGIN_BUILD_READABLE !== "1",
  // Notices are collected whole into THIRD_PARTY_NOTICES.txt instead.
  legalComments: "none",
  logLevel: "warning",
});

// grpc-js requires @grpc/proto-loader (and protobufjs, ~130 KB) only inside its
// channelz and ORCA service helpers, which this plugin never registers; our
// codecs are generated. Leaving it out keeps it from being parsed at start-up.
export const noRuntimeProtoLoading = Object.freeze({
  name: "no-runtime-proto-loading",
  setup(builder) {
    builder.onResolve({ filter: /^@grpc\/proto-loader$/ }, () => ({ path: "proto-loader", namespace: "not-bundled" }));
    builder.onLoad({ filter: /.*/, namespace: "not-bundled" }, () => ({
      contents:
        'module.exports = { loadSync() { throw new Error("@grpc/proto-loader is not bundled: this plugin uses generated codecs and no channelz/ORCA services"); } };',
      loader: "js",
    }));
  },
});
