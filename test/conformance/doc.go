// Package conformance is the conformance host for the plugin executable.
//
// It launches the built plugin exactly the way Vault's (and OpenBao's) plugin
// catalog does — pluginutil.PluginRunner.RunConfig with AutoMTLS, the SDK's v5
// backend client, per-mount multiplex_id metadata — and drives it through the
// SDK's own client code. All of the suite lives in the _test.go files; the SDK
// it links is chosen by build tag:
//
//	go test -count=1 ./...               # HashiCorp Vault SDK
//	go test -count=1 -tags openbao ./... # OpenBao SDK
//
// The two SDKs register the same protobuf names, so they are never linked into
// one binary: sdk_vault_test.go and sdk_openbao_test.go hold the only
// SDK-specific lines (type and function aliases).
package conformance
