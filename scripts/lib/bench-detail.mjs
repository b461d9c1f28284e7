// The detailed table of `npm run bench` with our executable alone: every RSS
// sample, every throughput cell with its percentiles, the revoke storm and the
// shutdown, from one host run. (The side-by-side table is bench-table.mjs.)


const num = (x, digits = 0) =>
  x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const msf = (x) => (x >= 100 ? `${num(x, 0)} ms` : x >= 10 ? `${num(x, 1)} ms` : `${num(x, 2)} ms`);
const mib = (kb) => `${num(kb / 1024, 1)} MiB`;
const ratio = (x) => `×${x >= 10 ? num(x, 0) : num(x, 2)}`;

// Columns: Benchmark, Case, Result, p50, p90, p99, max, Notes.
function rows(startup, go) {
  const out = [];
  const blank = ["", "", "", ""];
  out.push([
    "start-up",
    `exec → handshake line, ${startup.runs} runs`,
    `${msf(startup.medianMs)} median`,
    msf(startup.medianMs),
    msf(startup.p90Ms),
    "",
    msf(startup.maxMs),
    `p10 ${msf(startup.p10Ms)} · min ${msf(startup.minMs)}`,
  ]);
  const mounts = (go.mounts ?? []).map((m) => m.total_ms).sort((a, b) => a - b);
  if (mounts.length > 0) {
    const at = (q) => mounts[Math.min(mounts.length - 1, Math.floor(q * mounts.length))];
    const sums = (go.mounts ?? []).map((m) => m.checksum_ms).sort((a, b) => a - b);
    out.push([
      "mount",
      `launch (host SHA-256) → setup → first read, ${mounts.length} runs`,
      `${msf(at(0.5))} median`,
      msf(at(0.5)),
      msf(at(0.9)),
      "",
      msf(mounts[mounts.length - 1]),
      `SHA-256 of the file alone ${msf(sums[Math.floor(sums.length / 2)])} median`,
    ]);
  }
  const rss = go.rss ?? [];
  const idle = rss[0];
  for (const p of rss) {
    const notes = [];
    if (p !== idle && idle !== undefined && idle.vmrss_kb > 0) {
      const d = p.vmrss_kb - idle.vmrss_kb;
      notes.push(`${d >= 0 ? "+" : "−"}${mib(Math.abs(d))} (${ratio(p.vmrss_kb / idle.vmrss_kb)}) vs idle`);
    }
    notes.push(`VmHWM ${mib(p.vmhwm_kb)}`);
    if (p.idle_cpu_pct !== undefined) notes.push(`plugin CPU while idle ${num(p.idle_cpu_pct, 1)} %`);
    out.push(["RSS", `${p.label} (${num(p.requests)} req)`, mib(p.vmrss_kb), ...blank, notes.join(" · ")]);
  }
  const cells = go.throughput ?? [];
  const find = (c, lat, conc) => cells.find((x) => x.name === c.name && x.nomad_latency_ms === lat && x.concurrency === conc);
  for (const c of cells) {
    const what = c.name === "creds" ? `creds, Nomad +${c.nomad_latency_ms} ms` : c.name;
    const notes = [];
    const b = find(c, c.nomad_latency_ms, 1);
    if (b !== undefined && b !== c && b.req_per_s > 0) notes.push(`${ratio(c.req_per_s / b.req_per_s)} vs c=1`);
    const z = c.nomad_latency_ms > 0 ? find(c, 0, c.concurrency) : undefined;
    if (z !== undefined && z.req_per_s > 0) notes.push(`${ratio(c.req_per_s / z.req_per_s)} vs +0 ms`);
    notes.push(`CPU ${num(c.plugin_cpu_ms_per_req, 2)} ms/req`);
    notes.push(`${c.errors} err${c.first_error ? ` (${c.first_error.slice(0, 60)})` : ""}`);
    if (c.cleanup !== undefined && (c.cleanup.errors > 0 || c.cleanup.vault_tokens_left > 0)) {
      notes.push(`cleanup: ${c.cleanup.errors} revoke errors, ${c.cleanup.vault_tokens_left} tokens left`);
    }
    out.push([
      "throughput",
      `${what}, c=${c.concurrency}`,
      `${num(c.req_per_s, 0)} req/s`,
      msf(c.p50_ms),
      msf(c.p90_ms),
      msf(c.p99_ms),
      msf(c.max_ms),
      notes.join(" · "),
    ]);
  }
  const r = go.revoke;
  if (r !== null && r !== undefined) {
    const lat = r.nomad_latency_ms > 0 ? `, Nomad +${r.nomad_latency_ms} ms` : "";
    const errs = (ph) => `${ph.errors} err${ph.first_error ? ` (${ph.first_error.slice(0, 60)})` : ""}`;
    out.push([
      "revoke",
      `issue ${num(r.leases)} creds, c=${r.concurrency}${lat}`,
      `${num(r.issue.per_s, 0)} creds/s`,
      msf(r.issue.p50_ms),
      msf(r.issue.p90_ms),
      msf(r.issue.p99_ms),
      msf(r.issue.max_ms),
      `${num(r.issue.duration_s, 2)} s total · ${errs(r.issue)}`,
    ]);
    out.push([
      "revoke",
      `revoke ${num(r.leases)} leases (unmount), c=${r.concurrency}`,
      `${num(r.revoke.per_s, 0)} revokes/s`,
      msf(r.revoke.p50_ms),
      msf(r.revoke.p90_ms),
      msf(r.revoke.p99_ms),
      msf(r.revoke.max_ms),
      `${num(r.revoke.duration_s, 2)} s total · ${errs(r.revoke)} · ${num(r.nomad_delete_requests)} DELETEs to Nomad`,
    ]);
    out.push([
      "revoke",
      "vault-* tokens left in Nomad",
      `${r.vault_tokens_left} tokens`,
      ...blank,
      `/v1/acl/tokens lists ${r.nomad_tokens_api} (incl. management) · ${r.leases_left} leases left`,
    ]);
  }
  if (go.shutdown) {
    out.push([
      "shutdown",
      "Cleanup → Shutdown → process exit",
      `${num(go.shutdown.duration_s * 1000, 0)} ms`,
      ...blank,
      go.shutdown.graceful ? "exited by itself" : go.shutdown.exited ? "go-plugin had to kill it" : "NOT exited",
    ]);
  }
  return out;
}

export function renderDetail(h, startup, go) {
  const head = ["Benchmark", "Case", "Result", "p50", "p90", "p99", "max", "Notes"];
  const body = rows(startup, go);
  const widths = head.map((title, i) => Math.max(title.length, ...body.map((r) => r[i].length)));
  const right = new Set([2, 3, 4, 5, 6]);
  const cell = (text, i) => (right.has(i) ? text.padStart(widths[i]) : text.padEnd(widths[i]));
  const line = (r) => `│ ${r.map(cell).join(" │ ")} │`;
  const rule = (l, m, r) => `${l}${widths.map((w) => "─".repeat(w + 2)).join(m)}${r}`;
  const m = h.machine;
  const exit = go.plugin_exit_log;
  const lines = [
    `vault-plugin-secrets-nomad benchmarks · ${h.date}`,
    `machine: ${m.nproc} cores (${m.cpuModel}), ${num(m.memTotalGiB, 1)} GiB RAM, Linux ${m.kernel} ${m.arch}`,
    ...(m.nproc <= 2
      ? [`NOTE: ${m.nproc} cores shared by the Go host, the plugin and the Nomad fake: the figures are noisy; compare runs, not single numbers`]
      : []),
    `plugin ${go.plugin?.version ?? "?"} (package.json ${h.packageVersion}) · commit ${h.gitCommit} · Node ${h.pluginNodeVersion} (embedded) · ` +
      `Go ${h.goVersion} · host SDK ${go.sdk ?? "?"} · multiplexed ${go.plugin?.multiplexed ?? "?"}`,
    `throughput cells: ${go.options?.cell_s ?? "?"} s measured after ${go.options?.warmup_s ?? "?"} s warm-up; RSS batches at c=${go.options?.rss_concurrency ?? "?"}; ` +
      `latency = one HandleRequest through the SDK host; CPU = plugin user+sys per request`,
    rule("┌", "┬", "┐"),
    line(head),
    rule("├", "┼", "┤"),
    ...body.map(line),
    rule("└", "┴", "┘"),
  ];
  const logs = go.log ?? {};
  lines.push(
    `host/plugin log: ${logs.warnings ?? 0} warnings, ${logs.errors ?? 0} errors · plugin processes started ${go.plugin?.processes_started ?? "?"}, reloads ${go.plugin?.reloads ?? "?"}` +
      (exit ? ` · plugin's exit report: ${exit.requests} requests, ${exit.errors} errors, heap ${exit.heap_used_mb} MB, rss ${exit.rss_mb} MB, ${exit.nomad_calls} Nomad calls` : ""),
  );
  for (const sample of logs.samples ?? []) lines.push(`  ${sample}`);
  return lines.join("\n");
}
