// Package conformance is the conformance host for the plugin executable.
//
// It launches the built plugin exactly the way Vault's (and OpenBao's) plugin
// catalog does — pluginutil.PluginRunner.RunConfig with AutoMTLS, the SDK's v5
// backend client, per-mount multiplex_id metadata (and the legacy protocol 4
// flow with its response-wrapped TLS bootstrap) — and drives it through the
// SDK's own client code, against a Nomad ACL fake run as its own process. The
// host machinery is the importable package hostkit; the suite lives in the
// _test.go files. The SDK it links is chosen by build tag:
//
//	go test -count=1 ./...               # HashiCorp Vault SDK
//	go test -count=1 -tags openbao ./... # OpenBao SDK
//
// The two SDKs register the same protobuf names, so they are never linked into
// one binary: hostkit/sdk_vault.go and hostkit/sdk_openbao.go hold the only
// SDK-specific lines (type and function aliases).
package conformance
