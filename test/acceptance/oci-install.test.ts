// OpenBao installs the plugin from the release's OCI image, as its server
// configuration declares it: the image is pushed (skopeo) to Debian's
// docker-registry on 127.0.0.1, OpenBao downloads it at start-up
// (plugin_auto_download), registers it (plugin_auto_register), and the mount
// mints a Nomad token. A wrong sha256sum in the block stops OpenBao with its
// hash-mismatch error. The registry speaks plain HTTP: OpenBao's registry
// client (go-containerregistry) uses http for 127.0.0.1 without being told.
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, readlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { writeRelease } from "../../scripts/lib/release.mjs";
import { discoverNomad, discoverServer, onPath, reusableNomad, type ServerBinary } from "./support/binaries.ts";
import { createFlow } from "./support/flow.ts";
import { accGate, announceSkip, type Gate } from "./support/gate.ts";
import { httpRequest, waitFor } from "./support/http.ts";
import { provideNomad, type NomadEnv } from "./support/nomad.ts";
import { builtPlugin, PLUGIN_COMMAND, PLUGIN_NAME, REPO_ROOT, sha256File, type BuiltPlugin } from "./support/plugin.ts";
import { freePorts } from "./support/ports.ts";
import { describeExit, startProcess, type ManagedProcess } from "./support/process.ts";
import { Stack } from "./support/stack.ts";
import { cleanEnv, startVaultDev, type LeasedSecret, type NomadCreds, type VaultServer } from "./support/vault.ts";

const REPOSITORY = "vault-plugin-secrets-nomad";

function ociGate(): Gate & { bao?: ServerBinary; skopeo?: string; registry?: string } {
  const base = accGate();
  if (!base.enabled) return base;
  const server = discoverServer({ ...process.env, VAULT_BIN: "" });
  if (!server.found || server.value.kind !== "bao") return { enabled: false, reason: "needs OpenBao >= 2.5 (BAO_BIN): only OpenBao installs plugins from OCI images" };
  if (!discoverNomad().found && reusableNomad() === undefined) return { enabled: false, reason: "needs Nomad (NOMAD_BIN, or NOMAD_ADDR+NOMAD_TOKEN)" };
  const skopeo = onPath("skopeo");
  if (skopeo === undefined) return { enabled: false, reason: "needs skopeo on PATH to push the image (apt-get install skopeo)" };
  const registry = process.env.DOCKER_REGISTRY_BIN || onPath("docker-registry");
  if (registry === undefined) return { enabled: false, reason: "needs Debian's docker-registry on PATH (apt-get install docker-registry) or DOCKER_REGISTRY_BIN" };
  return { ...base, bao: server.value, skopeo, registry };
}

const gate = ociGate();
announceSkip("oci-install.test.ts", gate);

interface Environment {
  plugin: BuiltPlugin;
  bao: ServerBinary;
  /** host:port of the registry. */
  registry: string;
  image: string;
  tag: string;
  nomad: NomadEnv;
}

/** The server configuration an operator writes (README "Installing from an OCI image"). */
function pluginBlock(image: string, tag: string, sha256: string): string {
  return `plugin_auto_download = true
plugin_auto_register = true
plugin "secret" "${PLUGIN_NAME}" {
  image       = "${image}"
  version     = "${tag}"
  binary_name = "${PLUGIN_COMMAND}"
  sha256sum   = "${sha256}"
}
`;
}

describe.skipIf(!gate.enabled)("OpenBao installs the plugin from the OCI image", () => {
  const stack = new Stack();
  const flow = createFlow((title) => stack.printLogs(`step "${title}" failed`));
  let current: Environment | undefined;
  let bao: VaultServer | undefined;
  const env = (): Environment => {
    if (current === undefined) throw new Error("the environment did not start (see beforeAll)");
    return current;
  };
  const server = (): VaultServer => {
    if (bao === undefined) throw new Error("OpenBao did not start (an earlier step failed)");
    return bao;
  };

  beforeAll(async () => {
    try {
      const plugin = builtPlugin();
      const work = stack.tempDir("oci");
      // The release's image, as `npm run release -- --oci` writes it (unsigned: signing is not under test here).
      const release = await writeRelease({ distDir: path.join(REPO_ROOT, "dist"), outDir: path.join(work, "release"), epoch: 1_750_000_000, signingKey: undefined, oci: true });
      if (release.image === undefined) throw new Error("writeRelease wrote no OCI image");
      const [port] = await freePorts(1);
      const registry = `127.0.0.1:${String(port)}`;
      const storage = path.join(work, "registry-storage");
      const config = path.join(work, "registry.yml");
      writeFileSync(config, `version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\nhttp:\n  addr: ${registry}\n`);
      const registryProcess: ManagedProcess = stack.adopt(
        startProcess({ name: "docker-registry", bin: gate.registry!, args: ["serve", config], env: cleanEnv(), cwd: work, logFile: path.join(work, "registry.log") }),
      );
      await waitFor(`docker-registry at ${registry}`, async () => ((await httpRequest("GET", `http://${registry}/v2/`, { timeoutMs: 2_000 }).catch(() => undefined))?.status === 200 ? true : undefined), {
        timeoutMs: 30_000,
        process: registryProcess,
      });
      const image = `${registry}/${REPOSITORY}`;
      const push = spawnSync(gate.skopeo!, ["copy", "--preserve-digests", "--dest-tls-verify=false", `oci:${path.join(work, "release", "oci")}:${release.image.tag}`, `docker://${image}:${release.image.tag}`], {
        encoding: "utf8",
        timeout: 300_000,
      });
      if (push.status !== 0) throw new Error(`skopeo copy failed (${String(push.status)}):\n${push.stderr}`);
      const nomad = await provideNomad(stack);
      current = { plugin, bao: gate.bao!, registry, image, tag: release.image.tag, nomad };
    } catch (error: unknown) {
      stack.printLogs("setup failed");
      throw error;
    }
  }, 600_000);

  afterAll(async () => {
    await stack.close();
  }, 120_000);

  flow.step("the registry serves the pushed manifest under the digest the release wrote", async () => {
    const { registry, tag } = env();
    const manifest = await httpRequest("GET", `http://${registry}/v2/${REPOSITORY}/manifests/${tag}`, {
      headers: { Accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    expect(manifest.status, manifest.text).toBe(200);
    expect(manifest.json<{ layers: unknown[] }>().layers).toHaveLength(1);
  });

  flow.step(
    "a wrong sha256sum in the plugin block: OpenBao refuses to start, with its hash-mismatch error",
    async () => {
      const { plugin, bao: binary, image, tag } = env();
      const wrong = plugin.sha256.replace(/^./, (first) => (first === "0" ? "1" : "0"));
      const dir = stack.tempDir("bao-wrong-sha");
      const config = path.join(dir, "server.hcl");
      writeFileSync(config, `plugin_directory = "${path.join(dir, "plugins")}"\n${pluginBlock(image, tag, wrong)}`);
      const [port] = await freePorts(1);
      const refused = stack.adopt(
        startProcess({
          name: "bao server (wrong sha256sum)",
          bin: binary.bin,
          args: ["server", "-dev", `-dev-listen-address=127.0.0.1:${String(port)}`, "-dev-no-store-token", `-config=${config}`],
          env: cleanEnv(),
          cwd: dir,
          logFile: path.join(dir, "bao.log"),
        }),
      );
      const exit = await waitFor("the server with a wrong sha256sum to exit", async () => refused.exit(), { timeoutMs: 240_000 });
      const log = refused.tail(400);
      expect(exit.code, `${describeExit(exit)}\n${log}`).not.toBe(0);
      expect(log).toContain(`plugin hash mismatch: expected ${wrong}, got ${plugin.sha256}`);
      expect(existsSync(path.join(dir, "plugins", `secret-${PLUGIN_NAME}-${tag}`))).toBe(false);
    },
    { timeoutMs: 300_000, independent: true },
  );

  flow.step(
    "with the right sha256sum OpenBao downloads, verifies and registers it",
    async () => {
      const { plugin, bao: binary, image, tag } = env();
      bao = await startVaultDev(stack, binary, { plugin, installBuilt: false, extraConfig: pluginBlock(image, tag, plugin.sha256) });
      const link = path.join(bao.pluginDir, `secret-${PLUGIN_NAME}-${tag}`);
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      expect(readlinkSync(link)).toMatch(new RegExp(`^\\.oci-cache/secret-${PLUGIN_NAME}/${plugin.sha256.slice(0, 8)}/${PLUGIN_COMMAND}$`));
      expect(sha256File(link)).toBe(plugin.sha256);
      // `plugin info -format=json` prints the catalog entry itself (no "data" wrapper).
      const entry = await bao.cli.json<{ sha256: string; version: string }>(["plugin", "info", "-format=json", `-version=${tag}`, "secret", PLUGIN_NAME]);
      expect(entry.sha256).toBe(plugin.sha256);
      expect(entry.version).toBe(tag);
    },
    { timeoutMs: 300_000 },
  );

  flow.step("the mount from the image mints a Nomad token", async () => {
    const { nomad, tag } = env();
    const { cli } = server();
    await cli.ok(["secrets", "enable", "-path=nomad", `-plugin-version=${tag}`, PLUGIN_NAME]);
    await cli.ok(["write", "nomad/config/access", `address=${nomad.addr}`, `token=${nomad.managementToken}`]);
    await cli.ok(["write", "nomad/role/oci", "type=management"]);
    const creds = await cli.json<LeasedSecret<NomadCreds>>(["read", "-format=json", "nomad/creds/oci"]);
    expect(creds.data.accessor_id).toMatch(/\S/);
    const token = await nomad.api.getToken(creds.data.accessor_id);
    expect(token.Type).toBe("management");
    // -sync: wait for the engine's revoke (plain `lease revoke` queues it and returns).
    await cli.ok(["lease", "revoke", "-sync", creds.lease_id]);
    expect((await nomad.api.tokenInfo(creds.data.accessor_id)).status).toBe(404);
  });
});
