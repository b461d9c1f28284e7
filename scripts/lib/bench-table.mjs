// The side-by-side table of `npm run bench -- --peer …`: each executable's
// rounds reduced to one figure per measure (the median), ratios against the
// reference column with the direction that counts as better. Pure functions:
// scripts/bench.mjs feeds them the host's JSON; test/unit/bench-table.test.ts
// checks them.

/** Median of the finite numbers in `values`; null when there are none. */
export function median(values) {
  const xs = values.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = Math.floor(xs.length / 2);
  return xs.length % 2 === 1 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

/** a ÷ b, or null when either is missing or b is not positive. */
export function ratio(a, b) {
  if (a === null || b === null || a === undefined || b === undefined || !(b > 0)) return null;
  return a / b;
}

/**
 * Whether `r` (this column ÷ the reference) is level with the reference or
 * better, given the measure's direction; null without a ratio.
 */
export function atLeastLevel(r, better) {
  if (r === null) return null;
  return better === "higher" ? r >= 1 : r <= 1;
}

const MIB = 1024;

/** The RSS sample's measure key, or null for samples the table leaves out. */
export function rssKey(label) {
  if (label === "idle after mount") return "rss_idle";
  if (label === "after creds cells") return "rss_creds";
  if (label === "after revoke benchmark") return "rss_revoke";
  const reads = /^after ([\d,]+) config\/lease reads$/.exec(label);
  return reads === null ? null : `rss_reads_${reads[1].replaceAll(",", "")}`;
}

/** Flattens one host run's JSON document into {measure key: value}. */
export function hostMetrics(host) {
  const out = {};
  const mounts = host.mounts ?? [];
  if (mounts.length > 0) {
    out.mount_ms = median(mounts.map((m) => m.total_ms));
    out.mount_checksum_ms = median(mounts.map((m) => m.checksum_ms));
  }
  for (const point of host.rss ?? []) {
    const key = rssKey(point.label);
    if (key !== null && point.vmrss_kb > 0) out[key] = point.vmrss_kb / MIB;
  }
  for (const cell of host.throughput ?? []) {
    const base = cell.name === "creds" ? `creds${cell.nomad_latency_ms}_c${cell.concurrency}` : `reads_c${cell.concurrency}`;
    out[`${base}_rps`] = cell.req_per_s;
    out[`${base}_p99`] = cell.p99_ms;
    out[`${base}_cpu`] = cell.plugin_cpu_ms_per_req;
    out[`${base}_errors`] = cell.errors;
  }
  const revoke = host.revoke;
  if (revoke !== null && revoke !== undefined) {
    out[`revoke_${revoke.leases}_s`] = revoke.revoke.duration_s;
    out.revoke_errors = revoke.issue.errors + revoke.revoke.errors + revoke.vault_tokens_left;
  }
  return out;
}

/** exec → handshake figures (scripts/bench-startup.mjs) as measures. */
export function startupMetrics(startup) {
  return { startup_ms: startup.medianMs };
}

/**
 * What a measure key means: label, unit, which direction is better, digits,
 * and its place in the table. Unknown keys (errors, …) are not rows.
 */
export function describeMeasure(key) {
  const fixed = {
    size_mib: { label: "executable size (what the host hashes)", unit: "MiB", better: "lower", digits: 1, order: [0] },
    startup_ms: { label: "exec → handshake line", unit: "ms", better: "lower", digits: 1, order: [1] },
    mount_ms: { label: "mount: launch (host SHA-256) → setup → 1st read", unit: "ms", better: "lower", digits: 0, order: [2] },
    mount_checksum_ms: { label: "  the host's SHA-256 of the file alone", unit: "ms", better: "lower", digits: 0, order: [3] },
    rss_idle: { label: "RSS idle after mount", unit: "MiB", better: "lower", digits: 1, order: [4, 0] },
    rss_creds: { label: "RSS after the creds cells", unit: "MiB", better: "lower", digits: 1, order: [4, 1e12] },
    rss_revoke: { label: "RSS after the revoke storm", unit: "MiB", better: "lower", digits: 1, order: [4, 1e13] },
  };
  if (key in fixed) return fixed[key];
  const revoke = /^revoke_(\d+)_s$/.exec(key);
  if (revoke !== null) {
    const n = Number(revoke[1]);
    return { label: `revoke storm: ${n.toLocaleString("en-US")} leases revoked as on unmount`, unit: "s", better: "lower", digits: 2, order: [9, n] };
  }
  const reads = /^rss_reads_(\d+)$/.exec(key);
  if (reads !== null) {
    const n = Number(reads[1]);
    return { label: `RSS after ${n.toLocaleString("en-US")} config/lease reads`, unit: "MiB", better: "lower", digits: 1, order: [4, n] };
  }
  const cell = /^(reads|creds(\d+))_c(\d+)_(rps|p99|cpu)$/.exec(key);
  if (cell === null) return null;
  const [, kind, latency, conc, what] = cell;
  const c = Number(conc);
  const name = kind === "reads" ? "config/lease read" : `creds, Nomad +${latency} ms`;
  const group = kind === "reads" ? 5 : 6;
  const lat = latency === undefined ? 0 : Number(latency);
  if (what === "rps") return { label: `${name}, c=${c}`, unit: "req/s", better: "higher", digits: 0, order: [group, lat, 0, c] };
  if (what === "p99") return { label: `${name}, c=${c}, p99`, unit: "ms", better: "lower", digits: 1, order: [group, lat, 1, c] };
  return { label: `${name}, c=${c}, plugin CPU per request`, unit: "ms", better: "lower", digits: 3, order: [group, lat, 2, c] };
}

function compareOrder(a, b) {
  for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
    const d = (a[i] ?? -1) - (b[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Which ratios the table shows, as [numerator, denominator]: each column
 * against the peer; with a floor, also ours against the floor, so that
 * ours ÷ peer = (ours ÷ floor) × (floor ÷ peer) splits a gap into what our
 * code costs and what the runtime costs.
 */
export function ratioPairs(columns) {
  const pairs = [];
  const has = (name) => columns.includes(name);
  if (has("peer")) for (const c of columns) if (c !== "peer") pairs.push([c, "peer"]);
  if (has("ours") && has("floor")) pairs.push(["ours", "floor"]);
  return pairs;
}

const pairName = ([a, b]) => `${a} ÷ ${b}`;

/**
 * rounds: {column name: [{measure key: value} per round]}. Returns one row per
 * measure any column has: the per-round values, their median per column, and
 * the ratios of ratioPairs(columns) between medians.
 */
export function summarise(columns, rounds) {
  const keys = new Set();
  for (const name of columns) for (const r of rounds[name] ?? []) for (const k of Object.keys(r)) keys.add(k);
  const rows = [];
  for (const key of keys) {
    const measure = describeMeasure(key);
    if (measure === null) continue;
    const values = {};
    const medians = {};
    for (const name of columns) {
      values[name] = (rounds[name] ?? []).map((r) => r[key] ?? null);
      medians[name] = median(values[name]);
    }
    const ratios = {};
    for (const pair of ratioPairs(columns)) ratios[pairName(pair)] = ratio(medians[pair[0]], medians[pair[1]]);
    rows.push({ key, ...measure, values, medians, ratios });
  }
  return rows.sort((a, b) => compareOrder(a.order, b.order));
}

/** Errors the host counted, per column (summed over cells and rounds). */
export function errorCounts(columns, rounds) {
  const out = {};
  for (const name of columns) {
    out[name] = 0;
    for (const r of rounds[name] ?? []) for (const [k, v] of Object.entries(r)) if (k.endsWith("errors") && v > 0) out[name] += v;
  }
  return out;
}

export function formatValue(x, digits) {
  if (x === null || x === undefined) return "–";
  return x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function formatRatio(r) {
  if (r === null) return "–";
  return `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`;
}

/**
 * The table: measure, one column per executable (median of its rounds), then
 * the ratios (ratioPairs) and the direction. A ratio that is level or better
 * carries "ok".
 */
export function renderTable(columns, rows) {
  const others = ratioPairs(columns).map(pairName);
  const head = ["Measure", "unit", ...columns, ...others, "better"];
  const body = rows.map((row) => [
    row.label,
    row.unit,
    ...columns.map((c) => formatValue(row.medians[c], row.digits)),
    ...others.map((c) => {
      const r = row.ratios[c] ?? null;
      const level = atLeastLevel(r, row.better);
      return level === null ? "–" : `${formatRatio(r)}${level ? " ok" : "   "}`;
    }),
    row.better,
  ]);
  return renderBox(head, body, new Set([0, 1, head.length - 1]));
}

/** A box-drawn table; columns in `leftAligned` are padded on the right, the others on the left. */
export function renderBox(head, body, leftAligned) {
  const widths = head.map((title, i) => Math.max(title.length, ...body.map((r) => r[i].length)));
  const cell = (text, i) => (leftAligned.has(i) ? text.padEnd(widths[i]) : text.padStart(widths[i]));
  const line = (r) => `│ ${r.map(cell).join(" │ ")} │`;
  const rule = (l, m, r) => `${l}${widths.map((w) => "─".repeat(w + 2)).join(m)}${r}`;
  return [rule("┌", "┬", "┐"), line(head), rule("├", "┼", "┤"), ...body.map(line), rule("└", "┴", "┘")].join("\n");
}
