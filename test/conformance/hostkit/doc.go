// Package hostkit is the reusable part of the conformance host: it launches the
// plugin executable exactly the way Vault's (and OpenBao's) plugin catalog does
// — pluginutil.PluginRunner.RunConfig with AutoMTLS, the SDK's v5 backend
// client, one shared process for multiplexed mounts, per-mount multiplex_id
// gRPC metadata — and offers mount, request and lease helpers on top of the
// SDK's own client code, the legacy (protocol 4) launch with a response-
// wrapping unwrap endpoint, and a handle on the Nomad ACL fake run as its own
// process.
//
// It is an ordinary package: the conformance tests import it, and so can a
// `main` package (a benchmark). Nothing here depends on package testing; the
// functions return errors and the caller decides what a failure means.
//
// The SDK is chosen by build tag, exactly like the suite:
//
//	go build ./...               # HashiCorp Vault SDK (sdk_vault.go)
//	go build -tags openbao ./... # OpenBao SDK (sdk_openbao.go)
//
// The two SDKs register the same protobuf names, so one binary links only one
// of them; sdk_vault.go and sdk_openbao.go hold the only SDK-specific lines.
package hostkit
