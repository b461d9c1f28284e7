#!/usr/bin/env bash
# Runs the conformance suite twice: against the HashiCorp Vault SDK and the
# OpenBao SDK. Both runs always happen; the exit status is non-zero if either
# failed. PLUGIN_BINARY (default ../../dist/vault-plugin-secrets-nomad,
# relative to this directory) selects the executable under test.
set -u
cd "$(dirname "$0")"
status=0
go test -count=1 -timeout 5m ./... || status=1
go test -count=1 -timeout 5m -tags openbao ./... || status=1
exit $status
