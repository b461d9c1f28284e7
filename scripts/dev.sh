#!/usr/bin/env bash
# A local playground for vault-plugin-secrets-nomad.
#
# Builds the plugin, starts a Vault (or OpenBao) dev server and a Nomad dev agent
# with ACLs on 127.0.0.1 (free ports, logs in a temporary directory), bootstraps
# Nomad's ACLs, registers and enables the plugin at nomad/, and creates two
# roles: "admin" (management tokens) and "dispatch" (client tokens that may only
# dispatch the parameterized job "dev-dispatch"). Then it prints the exports and
# the next commands to type, plus the stop script.
#
# Binaries are found like the acceptance suite finds them:
#   server: $VAULT_BIN, $BAO_BIN, then `vault` on PATH, then `bao` on PATH
#   nomad:  $NOMAD_BIN, then `nomad` on PATH
#
# Usage: scripts/dev.sh [--no-build]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
PLUGIN_COMMAND="vault-plugin-secrets-nomad"
PLUGIN_NAME="nomad"
JOB_ID="dev-dispatch"
DISPATCH_POLICY="dev-dispatch"

BUILD=1
for arg in "$@"; do
  case "$arg" in
    --no-build) BUILD=0 ;;
    -h | --help)
      sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "dev.sh: unknown argument: $arg (try --help)" >&2
      exit 2
      ;;
  esac
done

die() {
  echo "dev.sh: $*" >&2
  exit 1
}
say() { echo "==> $*" >&2; }

# --- binaries ---------------------------------------------------------------
executable() { [[ -f "$1" && -x "$1" ]]; }

if [[ -n "${VAULT_BIN:-}" ]]; then
  executable "$VAULT_BIN" || die "\$VAULT_BIN=$VAULT_BIN is not an executable file"
  SERVER_BIN="$VAULT_BIN" KIND=vault
elif [[ -n "${BAO_BIN:-}" ]]; then
  executable "$BAO_BIN" || die "\$BAO_BIN=$BAO_BIN is not an executable file"
  SERVER_BIN="$BAO_BIN" KIND=bao
elif command -v vault >/dev/null 2>&1; then
  SERVER_BIN="$(command -v vault)" KIND=vault
elif command -v bao >/dev/null 2>&1; then
  SERVER_BIN="$(command -v bao)" KIND=bao
else
  die "no Vault or OpenBao binary: set VAULT_BIN or BAO_BIN, or put vault or bao on PATH"
fi

if [[ -n "${NOMAD_BIN:-}" ]]; then
  executable "$NOMAD_BIN" || die "\$NOMAD_BIN=$NOMAD_BIN is not an executable file"
  NOMAD_EXE="$NOMAD_BIN"
else
  NOMAD_EXE="$(command -v nomad 2>/dev/null)" || die "no Nomad binary: set NOMAD_BIN or put nomad on PATH"
fi

# How to spell the commands we print: the bare name if that is what PATH finds.
display_name() { # <name> <path>
  if [[ "$(command -v "$1" 2>/dev/null || true)" == "$2" ]]; then echo "$1"; else echo "$2"; fi
}
CLI="$(display_name "$KIND" "$SERVER_BIN")"
NOMAD_CLI="$(display_name nomad "$NOMAD_EXE")"

# Never talk to the user's real clusters by accident: drop every VAULT_*, BAO_*
# and NOMAD_* variable (the *_BIN ones were read above) before starting anything.
while IFS= read -r name; do
  case "$name" in VAULT_* | BAO_* | NOMAD_*) unset "$name" ;; esac
done < <(compgen -e)

# The pinned Node from npm ci when present (fetch and crypto are needed below).
NODE="$ROOT/node_modules/.bin/node"
[[ -x "$NODE" ]] || NODE="$(command -v node 2>/dev/null)" || die "node is needed (npm ci first)"

# --- build ------------------------------------------------------------------
if [[ "$BUILD" == 1 ]]; then
  [[ -d "$ROOT/node_modules" ]] || die "node_modules is missing: run npm ci first"
  say "building (npm run build)"
  (cd "$ROOT" && npm run build >&2)
fi
PLUGIN_FILE="$ROOT/dist/$PLUGIN_COMMAND"
[[ -x "$PLUGIN_FILE" && -f "$PLUGIN_FILE.sha256" ]] || die "$PLUGIN_FILE(.sha256) missing: run npm run build"
VERSION="v$("$NODE" -p 'require(process.argv[1]).version' "$ROOT/package.json")"

# --- work directory, stop script, failure cleanup ----------------------------
DEV_DIR="$(mktemp -d "${TMPDIR:-/tmp}/vpsn-dev.XXXXXX")"
DEV_DIR="$(cd "$DEV_DIR" && pwd -P)"
mkdir -m 700 "$DEV_DIR/plugins"
: >"$DEV_DIR/pids"

# Stops every process group listed in pids (TERM, then KILL), then removes DEV_DIR.
cat >"$DEV_DIR/stop.sh" <<EOF
#!/usr/bin/env bash
# Written by scripts/dev.sh: stops the dev servers and removes $DEV_DIR.
set -uo pipefail
dir='$DEV_DIR'
[[ -f "\$dir/pids" ]] || { echo "nothing to stop in \$dir"; exit 0; }
while read -r pid group name; do
  [[ -n "\$pid" ]] || continue
  target="\$pid"; [[ "\$group" == 1 ]] && target="-\$pid"
  kill -TERM -- "\$target" 2>/dev/null || continue
  for _ in \$(seq 1 50); do kill -0 "\$pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL -- "\$target" 2>/dev/null || true
  echo "stopped \$name (pid \$pid)"
done < <(tac "\$dir/pids" 2>/dev/null || tail -r "\$dir/pids")
rm -rf -- "\$dir"
echo "removed \$dir"
EOF
chmod +x "$DEV_DIR/stop.sh"

READY=0
on_exit() {
  if [[ "$READY" != 1 ]]; then
    echo >&2
    echo "dev.sh: setup failed; logs:" >&2
    for log in "$DEV_DIR"/*.log; do
      [[ -f "$log" ]] || continue
      echo "----- $log (last 40 lines)" >&2
      tail -n 40 "$log" >&2 || true
    done
    "$DEV_DIR/stop.sh" >&2 || true
  fi
}
trap on_exit EXIT

# Starts a server in the background, in its own process group when setsid exists
# (so stop.sh also reaps Vault's plugin processes), logging to DEV_DIR/<name>.log.
start_bg() { # <name> <command...>
  local name="$1" group=0
  shift
  if command -v setsid >/dev/null 2>&1; then
    setsid "$@" >"$DEV_DIR/$name.log" 2>&1 </dev/null &
    group=1
  else
    nohup "$@" >"$DEV_DIR/$name.log" 2>&1 </dev/null &
  fi
  echo "$! $group $name" >>"$DEV_DIR/pids"
  LAST_PID=$!
}

alive() { kill -0 "$1" 2>/dev/null; }

# Runs a command silently; shows its output only if it fails.
quiet() {
  local out
  if ! out="$("$@" 2>&1)"; then
    echo "dev.sh: failed: ${*:1:4} ..." >&2
    echo "$out" >&2
    return 1
  fi
}

# Free loopback ports: "ports N" prints N ports; "pair" prints P with P+1 free
# too (a dev server's cluster listener takes the API port + 1).
free_ports() {
  "$NODE" -e '
    const net = require("node:net");
    const open = (port) => new Promise((ok) => {
      const s = net.createServer();
      s.once("error", () => ok(null));
      s.listen({ host: "127.0.0.1", port, exclusive: true }, () => ok(s));
    });
    (async () => {
      if (process.argv[1] === "pair") {
        for (;;) {
          const a = await open(0); const port = a.address().port;
          const b = port < 65535 ? await open(port + 1) : null;
          a.close(); if (b) { b.close(); console.log(port); return; }
        }
      }
      const servers = [];
      for (let i = 0; i < Number(process.argv[2]); i++) servers.push(await open(0));
      console.log(servers.map((s) => s.address().port).join(" "));
      servers.forEach((s) => s.close());
    })();
  ' "$@"
}

http_ok() { # <url>: exit 0 on HTTP 200 with a non-empty, non-"" body
  "$NODE" -e '
    fetch(process.argv[1], { signal: AbortSignal.timeout(2000) })
      .then(async (r) => { const t = (await r.text()).trim(); process.exit(r.ok && t !== "" && t !== "\"\"" ? 0 : 1); })
      .catch(() => process.exit(1));
  ' "$1"
}

wait_until() { # <what> <pid> <seconds> <command...>
  local what="$1" pid="$2" seconds="$3"
  shift 3
  for _ in $(seq 1 $((seconds * 2))); do
    "$@" >/dev/null 2>&1 && return 0
    alive "$pid" || die "$what exited while starting (its log follows)"
    sleep 0.5
  done
  die "timed out after ${seconds}s waiting for $what"
}

# --- Nomad --------------------------------------------------------------------
read -r NOMAD_HTTP NOMAD_RPC NOMAD_SERF < <(free_ports ports 3)
NOMAD_URL="http://127.0.0.1:$NOMAD_HTTP"
cat >"$DEV_DIR/nomad.hcl" <<EOF
# Written by scripts/dev.sh
data_dir  = "$DEV_DIR/nomad-data"
bind_addr = "127.0.0.1"
ports {
  http = $NOMAD_HTTP
  rpc  = $NOMAD_RPC
  serf = $NOMAD_SERF
}
acl {
  enabled = true
}
client {
  # no cloud-metadata probing on a laptop
  options = {
    "fingerprint.denylist" = "env_aws,env_gce,env_azure,env_digitalocean"
  }
}
EOF
say "starting Nomad dev agent at $NOMAD_URL (log: $DEV_DIR/nomad.log)"
start_bg nomad "$NOMAD_EXE" agent -dev -acl-enabled -bind=127.0.0.1 -config="$DEV_DIR/nomad.hcl"
NOMAD_PID=$LAST_PID
wait_until "Nomad" "$NOMAD_PID" 90 http_ok "$NOMAD_URL/v1/status/leader"

nomad_cli() { NOMAD_ADDR="$NOMAD_URL" NOMAD_TOKEN="${NOMAD_MANAGEMENT_TOKEN:-}" "$NOMAD_EXE" "$@"; }

say "bootstrapping Nomad ACLs"
NOMAD_MANAGEMENT_TOKEN=""
for _ in $(seq 1 60); do
  if out="$(nomad_cli acl bootstrap -t '{{.SecretID}}' 2>&1)"; then
    NOMAD_MANAGEMENT_TOKEN="$out"
    break
  fi
  case "$out" in *"already done"*) die "Nomad ACLs were bootstrapped already: $out" ;; esac
  sleep 0.5
done
[[ -n "$NOMAD_MANAGEMENT_TOKEN" ]] || die "Nomad ACL bootstrap failed: $out"

cat >"$DEV_DIR/dispatch-policy.hcl" <<'EOF'
namespace "default" {
  capabilities = ["dispatch-job", "read-job"]
}
EOF
quiet nomad_cli acl policy apply -description "dispatch the dev-dispatch job" \
  "$DISPATCH_POLICY" "$DEV_DIR/dispatch-policy.hcl"

cat >"$DEV_DIR/$JOB_ID.nomad.hcl" <<'EOF'
job "dev-dispatch" {
  type        = "batch"
  datacenters = ["dc1"]

  parameterized {
    payload       = "optional"
    meta_optional = ["message"]
  }

  group "dispatch" {
    task "echo" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo dispatched: $NOMAD_META_message"]
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
EOF
quiet nomad_cli job run -detach "$DEV_DIR/$JOB_ID.nomad.hcl"

# The engine gets its own management token, so rotate-root never deletes yours.
ENGINE_TOKEN="$(nomad_cli acl token create -type=management -name=vault-plugin-secrets-nomad-dev -t '{{.SecretID}}')"

# --- Vault / OpenBao ------------------------------------------------------------
cp "$PLUGIN_FILE" "$DEV_DIR/plugins/$PLUGIN_COMMAND"
chmod 755 "$DEV_DIR/plugins/$PLUGIN_COMMAND"
SHA256="$(tr -d '[:space:]' <"$PLUGIN_FILE.sha256")"
printf 'plugin_directory = "%s"\n' "$DEV_DIR/plugins" >"$DEV_DIR/server.hcl"
VAULT_PORT="$(free_ports pair)"
VAULT_URL="http://127.0.0.1:$VAULT_PORT"
ROOT_TOKEN="dev-root-$("$NODE" -p 'crypto.randomUUID()')"
say "starting $KIND dev server at $VAULT_URL (log: $DEV_DIR/$KIND.log)"
start_bg "$KIND" "$SERVER_BIN" server -dev -dev-root-token-id="$ROOT_TOKEN" \
  -dev-listen-address="127.0.0.1:$VAULT_PORT" -dev-no-store-token -config="$DEV_DIR/server.hcl"
VAULT_PID=$LAST_PID

vault_cli() {
  VAULT_ADDR="$VAULT_URL" VAULT_TOKEN="$ROOT_TOKEN" BAO_ADDR="$VAULT_URL" BAO_TOKEN="$ROOT_TOKEN" "$SERVER_BIN" "$@"
}
wait_until "$KIND" "$VAULT_PID" 60 vault_cli status

say "registering $PLUGIN_COMMAND $VERSION as secret plugin \"$PLUGIN_NAME\" and enabling it at nomad/"
quiet vault_cli plugin register -sha256="$SHA256" -version="$VERSION" -command="$PLUGIN_COMMAND" secret "$PLUGIN_NAME"
quiet vault_cli secrets enable -path=nomad "$PLUGIN_NAME"
quiet vault_cli write nomad/config/access address="$NOMAD_URL" token="$ENGINE_TOKEN"
quiet vault_cli write nomad/config/lease ttl=30m max_ttl=2h
quiet vault_cli write nomad/role/admin type=management
quiet vault_cli write nomad/role/dispatch type=client policies="$DISPATCH_POLICY"

# --- env file, reload script, instructions ----------------------------------------
if [[ "$KIND" == vault ]]; then ADDR_VAR=VAULT_ADDR TOKEN_VAR=VAULT_TOKEN; else ADDR_VAR=BAO_ADDR TOKEN_VAR=BAO_TOKEN; fi
cat >"$DEV_DIR/env.sh" <<EOF
# source this file: the dev servers started by scripts/dev.sh
export $ADDR_VAR='$VAULT_URL'
export $TOKEN_VAR='$ROOT_TOKEN'
export NOMAD_ADDR='$NOMAD_URL'
# Nomad's bootstrap (management) token, for looking around in Nomad:
export NOMAD_TOKEN='$NOMAD_MANAGEMENT_TOKEN'
EOF

cat >"$DEV_DIR/reload.sh" <<EOF
#!/usr/bin/env bash
# Written by scripts/dev.sh: rebuild, re-register the new binary, reload the mount.
set -euo pipefail
[[ "\${1:-}" == --no-build ]] || (cd '$ROOT' && npm run build >&2)
# Replace by rename: the running plugin keeps its (old) file open.
cp '$PLUGIN_FILE' '$DEV_DIR/plugins/.$PLUGIN_COMMAND.new'
chmod 755 '$DEV_DIR/plugins/.$PLUGIN_COMMAND.new'
mv -f '$DEV_DIR/plugins/.$PLUGIN_COMMAND.new' '$DEV_DIR/plugins/$PLUGIN_COMMAND'
sha="\$(tr -d '[:space:]' <'$PLUGIN_FILE.sha256')"
export VAULT_ADDR='$VAULT_URL' VAULT_TOKEN='$ROOT_TOKEN' BAO_ADDR='$VAULT_URL' BAO_TOKEN='$ROOT_TOKEN'
'$SERVER_BIN' plugin register -sha256="\$sha" -version='$VERSION' -command='$PLUGIN_COMMAND' secret '$PLUGIN_NAME'
'$SERVER_BIN' plugin reload -plugin='$PLUGIN_NAME'
EOF
chmod +x "$DEV_DIR/reload.sh"

READY=1
trap - EXIT

cat <<EOF

Ready: $KIND dev server at $VAULT_URL, Nomad (ACLs on) at $NOMAD_URL.
Logs and state: $DEV_DIR   (${KIND}.log, nomad.log)

Environment (or: source $DEV_DIR/env.sh):

  export $ADDR_VAR='$VAULT_URL'
  export $TOKEN_VAR='$ROOT_TOKEN'
  export NOMAD_ADDR='$NOMAD_URL'
  export NOMAD_TOKEN='$NOMAD_MANAGEMENT_TOKEN'   # Nomad management (bootstrap) token

Next:

  # a management token, as a lease
  $CLI read nomad/creds/admin
  # a client token that may only dispatch the job "$JOB_ID"
  $CLI read nomad/creds/dispatch
  NOMAD_TOKEN=<secret_id> $NOMAD_CLI job dispatch -meta message=hello $JOB_ID
  NOMAD_TOKEN=<secret_id> $NOMAD_CLI acl token self
  # leases: renew, revoke (the token disappears from Nomad)
  $CLI lease renew <lease_id>
  $CLI lease revoke <lease_id>
  # configuration: the token is never shown; rotate-root replaces the engine's own token
  $CLI read nomad/config/access
  $CLI write -f nomad/config/rotate-root
  # more roles
  $CLI write nomad/role/<name> policies=<nomad policy>[,...] [roles=<nomad ACL role>] [ttl=5m max_ttl=1h]
  $CLI path-help nomad/role/x

After changing the code:  $DEV_DIR/reload.sh   (rebuild, re-register, reload)
Stop everything:          $DEV_DIR/stop.sh     (pids in $DEV_DIR/pids)
EOF
