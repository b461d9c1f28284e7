// `npm run bench -- --real`: creds through a real server's HTTP API with a real
// Nomad dev agent, next to Nomad's own ACL token rate measured by the same load
// loop straight against Nomad (the physical limit of any engine).
//
//   BAO_BIN=… (or VAULT_BIN=…) NOMAD_BIN=… npm run bench -- --real [--peer <path>] [--rounds N]
//     [--real-seconds S] [--real-concurrency 1,16] [--real-nomad-default-limits]
//     [--node-options "<flags>"] [--ours <path>]
//
// One dev server, one Nomad agent (both on 127.0.0.1, in temp folders, stopped
// on exit): our executable is registered and mounted at ours/; with --peer the
// other executable at peer/; on Vault the builtin engine at builtin/. Each cell
// is a fixed time at a fixed concurrency after a 1 s warm-up, interleaved per
// round (raw Nomad, ours, peer, builtin); the table has the medians.
//
// The servers come from test/acceptance/support (bundled here with esbuild:
// its TypeScript parameter properties are beyond Node's type stripping).
import { copyFileSync, chmodSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { execFileSync } from "node:child_process";
import { build } from "esbuild";
import { formatRatio, formatValue, median, ratio, renderBox } from "./bench-table.mjs";

const ROLE = "bench";
const POLICY = "bench-read";

async function loadSupport(root, scratch) {
  const outfile = path.join(scratch, "acceptance-support.mjs");
  await build({
    stdin: {
      contents: [
        'export { Stack } from "./stack.ts";',
        'export { startVaultDev } from "./vault.ts";',
        'export { startNomadAgent, bootstrapAcl, NomadApi } from "./nomad.ts";',
        'export { discoverServer, discoverNomad } from "./binaries.ts";',
        'export { sha256File, installPlugin } from "./plugin.ts";',
      ].join("\n"),
      resolveDir: path.join(root, "test", "acceptance", "support"),
      sourcefile: "bench-real-support.ts",
      loader: "ts",
    },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    outfile,
    logLevel: "warning",
  });
  return import(pathToFileURL(outfile).href);
}

// ------------------------------------------------------------ the load loop

/** One keep-alive agent per target; at most `sockets` connections. */
function client(base, headers, sockets) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  const url = new URL(base);
  return {
    agent,
    request(method, apiPath, body) {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      return new Promise((resolve, reject) => {
        const req = http.request(
          {
            agent,
            host: url.hostname,
            port: url.port,
            method,
            path: apiPath,
            headers: { ...headers, ...(payload === undefined ? {} : { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) }) },
            timeout: 30_000,
          },
          (res) => {
            const chunks = [];
            res.on("data", (c) => chunks.push(c));
            res.on("end", () => {
              const text = Buffer.concat(chunks).toString("utf8");
              resolve({ status: res.statusCode ?? 0, text });
            });
            res.on("error", reject);
          },
        );
        req.on("timeout", () => req.destroy(new Error(`${method} ${apiPath}: no answer within 30 s`)));
        req.on("error", reject);
        req.end(payload);
      });
    },
  };
}

/** Only the servers' error strings, never a body that could carry a secret. */
function failure(what, res) {
  let detail = "";
  try {
    const errors = JSON.parse(res.text).errors;
    if (Array.isArray(errors)) detail = `: ${errors.join("; ").slice(0, 200)}`;
  } catch {
    detail = res.text.length < 200 && !/[0-9a-f]{8}-[0-9a-f]{4}-/.test(res.text) ? `: ${res.text.trim()}` : "";
  }
  return new Error(`${what}: HTTP ${res.status}${detail}`);
}

/** Drives `op` at `concurrency` for `seconds`; latencies in ms. */
async function drive({ concurrency, seconds, op }) {
  const lat = [];
  let errors = 0;
  let firstError;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now();
        try {
          await op();
        } catch (error) {
          errors += 1;
          firstError ??= String(error?.message ?? error);
        }
        lat.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  lat.sort((a, b) => a - b);
  const at = (q) => (lat.length === 0 ? null : lat[Math.min(lat.length - 1, Math.ceil(q * lat.length) - 1)]);
  return { n: lat.length, errors, firstError, seconds: elapsed, perSecond: lat.length / elapsed, p50: at(0.5), p99: at(0.99) };
}

/** Runs `items` through `f` at `concurrency` (untimed cleanups). */
async function forEachLimited(items, concurrency, f) {
  let next = 0;
  let errors = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next];
        next += 1;
        try {
          await f(item);
        } catch {
          errors += 1;
        }
      }
    }),
  );
  return errors;
}

// ------------------------------------------------------------ targets

/**
 * Nomad counts connections per client IP (limits.http_max_conns_per_client,
 * 100 by default), and on loopback this harness, the server's plugins and
 * Nomad share one IP: the raw client's sockets are closed after every cell
 * (close) so that they never count against the plugins' share.
 */
function nomadTarget(nomad, sockets) {
  let api = client(nomad.addr, { "X-Nomad-Token": nomad.managementToken }, sockets);
  let serial = 0;
  const create = async () => {
    serial += 1;
    const res = await api.request("POST", "/v1/acl/token", { Name: `bench-raw-${serial}`, Type: "client", Policies: [POLICY] });
    if (res.status !== 200) throw failure("POST /v1/acl/token", res);
    return JSON.parse(res.text).AccessorID;
  };
  const remove = async (accessor) => {
    const res = await api.request("DELETE", `/v1/acl/token/${encodeURIComponent(accessor)}`);
    if (res.status !== 200) throw failure("DELETE /v1/acl/token", res);
  };
  const close = () => {
    api.agent.destroy();
    api = client(nomad.addr, { "X-Nomad-Token": nomad.managementToken }, sockets);
  };
  return { create, remove, close };
}

function mountTarget(server, mount) {
  const api = client(server.addr, { "X-Vault-Token": server.rootToken }, 64);
  const creds = async () => {
    const res = await api.request("GET", `/v1/${mount}/creds/${ROLE}`);
    if (res.status !== 200) throw failure(`read ${mount}/creds/${ROLE}`, res);
    return JSON.parse(res.text).lease_id;
  };
  const revoke = async (leaseId) => {
    const res = await api.request("PUT", "/v1/sys/leases/revoke", { lease_id: leaseId });
    if (res.status !== 204 && res.status !== 200) throw failure("sys/leases/revoke", res);
  };
  const revokeAll = async () => {
    const res = await api.request("PUT", `/v1/sys/leases/revoke-prefix/${mount}/creds/${ROLE}`, { sync: true });
    if (res.status !== 204 && res.status !== 200) throw failure("sys/leases/revoke-prefix", res);
  };
  return { api, creds, revoke, revokeAll };
}

async function setUpMount(server, mount, pluginType, nomad) {
  const call = async (method, apiPath, body) => {
    const res = await server.http(method, apiPath, body);
    if (res.status >= 300) throw new Error(`${method} ${apiPath}: HTTP ${res.status}: ${res.text.slice(0, 300)}`);
  };
  await call("POST", `sys/mounts/${mount}`, { type: pluginType });
  await call("POST", `${mount}/config/access`, { address: nomad.addr, token: nomad.managementToken });
  await call("POST", `${mount}/role/${ROLE}`, { policies: POLICY });
}

function version(bin) {
  try {
    return execFileSync(bin, ["version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).split("\n")[0].trim();
  } catch {
    return "unknown";
  }
}

// ------------------------------------------------------------ the run

export async function benchReal({ root, options, result, scratch }) {
  const support = await loadSupport(root, scratch);
  const server = support.discoverServer();
  if (!server.found) throw new Error(`--real: ${server.reason} (set BAO_BIN or VAULT_BIN)`);
  const nomadBin = support.discoverNomad();
  if (!nomadBin.found) throw new Error(`--real: ${nomadBin.reason} (set NOMAD_BIN)`);
  const rounds = options.rounds ?? 3;
  const cellSeconds = options.realSeconds ?? 5;
  const concurrencies = options.realConcurrency ?? [1, 16];

  const stack = new support.Stack();
  try {
    process.stderr.write(`bench --real: ${server.value.kind} ${version(server.value.bin)}, ${version(nomadBin.value)} (dev agents on 127.0.0.1)…\n`);
    const ours = { file: options.ours, sha256: support.sha256File(options.ours), recordedSha256: "", version: "" };
    const vault = await support.startVaultDev(stack, server.value, { plugin: ours, logLevel: "warn" });
    // Nomad allows 100 connections per client IP by default; on loopback every
    // plugin shares one IP with this harness, and a plugin that opens
    // connections without a cap (the Go peer) then meets HTTP 429. Lifted
    // unless --real-nomad-default-limits (then such failures are measured too).
    const limits = options.realNomadDefaultLimits ? "" : "limits {\n  http_max_conns_per_client = 0\n}\n";
    const agent = await support.startNomadAgent(stack, nomadBin.value, limits);
    const managementToken = await support.bootstrapAcl(agent.addr, agent.process);
    const nomad = { addr: agent.addr, managementToken, api: new support.NomadApi(agent.addr, managementToken) };
    await nomad.api.upsertPolicy(POLICY, 'namespace "default" {\n  policy = "read"\n}\n', "vault-plugin-secrets-nomad bench");

    const register = async (name, command, sha256, args) => {
      const res = await vault.http("PUT", `sys/plugins/catalog/secret/${name}`, { sha256, command, args });
      if (res.status >= 300) throw new Error(`register ${name}: HTTP ${res.status}: ${res.text.slice(0, 300)}`);
    };
    const ourArgs = options.nodeOptions === undefined ? [] : [`--node-options=${options.nodeOptions}`];
    await register("nomad-ts", "vault-plugin-secrets-nomad", vault.pluginSha256, ourArgs);
    const columns = [{ name: "ours", mount: "ours", type: "nomad-ts" }];
    if (options.peer !== undefined) {
      const copy = path.join(vault.pluginDir, path.basename(options.peer));
      copyFileSync(options.peer, copy);
      chmodSync(copy, 0o755);
      await register("nomad-go", path.basename(copy), support.sha256File(copy), []);
      columns.push({ name: "peer", mount: "peer", type: "nomad-go" });
    }
    if (server.value.kind === "vault") columns.push({ name: "builtin", mount: "builtin", type: "nomad" });
    for (const c of columns) await setUpMount(vault, c.mount, c.type, nomad);

    const raw = nomadTarget(nomad, Math.min(64, Math.max(...concurrencies)));
    const targets = Object.fromEntries(columns.map((c) => [c.name, mountTarget(vault, c.mount)]));
    const cells = [];
    const cleanupErrors = [];
    const untimed = async (what, cleanup) => {
      try {
        await cleanup();
      } catch (error) {
        cleanupErrors.push(`${what}: ${String(error?.message ?? error).slice(0, 300)}`);
        process.stderr.write(`bench --real: cleanup after ${what} failed: ${cleanupErrors.at(-1)}\n`);
      }
    };
    const run = async (round, who, what, concurrency, op, cleanup) => {
      const title = `round ${round + 1} ${who} ${what} c=${concurrency}`;
      await drive({ concurrency, seconds: 1, op }); // warm-up
      await untimed(`${title} (warm-up)`, cleanup);
      const figures = await drive({ concurrency, seconds: cellSeconds, op });
      const cleanupStarted = performance.now();
      await untimed(title, cleanup);
      raw.close();
      const cell = { round, who, what, concurrency, ...figures, cleanupSeconds: (performance.now() - cleanupStarted) / 1000 };
      cells.push(cell);
      process.stderr.write(
        `bench --real: round ${round + 1}/${rounds} ${who.padEnd(7)} ${what.padEnd(15)} c=${String(concurrency).padEnd(3)} ` +
          `${figures.perSecond.toFixed(1)}/s p99 ${figures.p99?.toFixed(1) ?? "–"} ms, ${figures.errors} errors${figures.firstError ? ` (${figures.firstError.slice(0, 80)})` : ""}\n`,
      );
    };
    for (let round = 0; round < rounds; round += 1) {
      for (const concurrency of concurrencies) {
        const created = [];
        await run(round, "nomad", "token create", concurrency, async () => created.push(await raw.create()), async () => {
          await forEachLimited(created.splice(0), 16, raw.remove);
        });
        await run(round, "nomad", "create+delete", concurrency, async () => raw.remove(await raw.create()), async () => undefined);
        for (const c of columns) {
          const t = targets[c.name];
          await run(round, c.name, "creds", concurrency, t.creds, t.revokeAll);
          await run(round, c.name, "creds+revoke", concurrency, async () => t.revoke(await t.creds()), t.revokeAll);
        }
      }
    }
    const left = await nomad.api
      .tokens()
      .then((tokens) => tokens.filter((token) => token.Name?.startsWith("bench-raw-") || token.Name?.startsWith("vault-")).length)
      .catch(() => null);
    result.real = {
      server: { kind: server.value.kind, version: version(server.value.bin) },
      nomad: version(nomadBin.value),
      cellSeconds,
      concurrencies,
      rounds,
      columns: columns.map((c) => c.name),
      cells,
      nomadTokensLeft: left,
      nomadConnectionLimitLifted: !options.realNomadDefaultLimits,
      cleanupErrors,
    };
    return () => renderReal(result);
  } finally {
    await stack.close();
  }
}

function renderReal(result) {
  const real = result.real;
  const fig = (who, what, c, key) => median(real.cells.filter((x) => x.who === who && x.what === what && x.concurrency === c).map((x) => x[key]));
  const names = real.columns;
  const head = ["Measure", "unit", ...names, "Nomad raw", ...names.map((n) => `${n} ÷ raw`), ...(names.includes("peer") ? ["ours ÷ peer"] : [])];
  const body = [];
  for (const c of real.concurrencies) {
    body.push(["Nomad: token create alone", "req/s", ...names.map(() => ""), formatValue(fig("nomad", "token create", c, "perSecond"), 0), ...names.map(() => ""), ...(names.includes("peer") ? [""] : [])].map((x, i) => (i === 0 ? `${x}, c=${c}` : x)));
    for (const [what, rawWhat, unit] of [
      ["creds", "create+delete", "req/s"],
      ["creds+revoke", "create+delete", "cycles/s"],
    ]) {
      const rawRate = fig("nomad", rawWhat, c, "perSecond");
      const label = what === "creds" ? `creds read (raw: token create+delete), c=${c}` : `creds read + lease revoke (raw: create+delete), c=${c}`;
      const rates = Object.fromEntries(names.map((n) => [n, fig(n, what, c, "perSecond")]));
      body.push([
        label,
        unit,
        ...names.map((n) => formatValue(rates[n], 0)),
        formatValue(rawRate, 0),
        ...names.map((n) => formatRatio(ratio(rates[n], rawRate))),
        ...(names.includes("peer") ? [formatRatio(ratio(rates.ours, rates.peer))] : []),
      ]);
      const p99 = Object.fromEntries(names.map((n) => [n, fig(n, what, c, "p99")]));
      const rawP99 = fig("nomad", rawWhat, c, "p99");
      body.push([
        `  p99`,
        "ms",
        ...names.map((n) => formatValue(p99[n], 1)),
        formatValue(rawP99, 1),
        ...names.map((n) => formatRatio(ratio(p99[n], rawP99))),
        ...(names.includes("peer") ? [formatRatio(ratio(p99.ours, p99.peer))] : []),
      ]);
    }
  }
  const errors = Object.fromEntries(["nomad", ...names].map((n) => [n, real.cells.filter((x) => x.who === n).reduce((s, x) => s + x.errors, 0)]));
  const m = result.header.machine;
  return [
    `vault-plugin-secrets-nomad against real servers · ${result.header.date} · commit ${result.header.gitCommit}`,
    `machine: ${m.nproc} cores (${m.cpuModel}), ${m.memTotalGiB} GiB RAM, load average at start ${m.loadAverage.map((x) => x.toFixed(2)).join(" ")}`,
    `${real.server.version} dev server (in-memory storage) and ${real.nomad} dev agent with ACLs, on 127.0.0.1; ` +
      `median of ${real.rounds} round(s) of ${real.cellSeconds} s cells after 1 s warm-up, one keep-alive HTTP client per target`,
    `Nomad limits.http_max_conns_per_client: ${real.nomadConnectionLimitLifted ? "0 (lifted; --real-nomad-default-limits keeps 100)" : "100 (Nomad's default)"}`,
    "raw = the same load loop straight against Nomad's ACL API with the management token; goal (issue 13): ours ÷ raw ≥ 0.50 for creds",
    renderBox(head, body, new Set([0, 1])),
    `errors: ${Object.entries(errors).map(([n, e]) => `${n} ${e}`).join(", ")} · failed cleanups (untimed revokes between cells): ${real.cleanupErrors.length} · ` +
      `bench tokens left in Nomad after the run: ${real.nomadTokensLeft ?? "unknown (Nomad refused the listing)"}`,
    ...real.cleanupErrors.slice(0, 5).map((e) => `  cleanup: ${e}`),
  ].join("\n");
}
