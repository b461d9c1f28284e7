//go:build !openbao

package conformance

import (
	"context"

	"google.golang.org/grpc"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/consts"
	"github.com/hashicorp/vault/sdk/helper/pluginutil"
	"github.com/hashicorp/vault/sdk/logical"
	sdkplugin "github.com/hashicorp/vault/sdk/plugin"
	"github.com/hashicorp/vault/sdk/plugin/pb"
)

// The only SDK-specific part of the suite: names it uses, bound to the
// HashiCorp Vault SDK (github.com/hashicorp/vault/sdk).

const (
	sdkName = "vault"
	// Our protos claim Vault's wire format: anything we declare must exist here.
	absentIsDifference = true
)

type (
	Backend            = logical.Backend
	BackendConfig      = logical.BackendConfig
	Request            = logical.Request
	Response           = logical.Response
	Operation          = logical.Operation
	InmemStorage       = logical.InmemStorage
	StaticSystemView   = logical.StaticSystemView
	PluginEnvironment  = logical.PluginEnvironment
	PluginVersioner    = logical.PluginVersioner
	PluginRunner       = pluginutil.PluginRunner
	PluginClientConfig = pluginutil.PluginClientConfig
	PluginClient       = pluginutil.PluginClient
	RunOpt             = pluginutil.RunOpt
)

const (
	opRead    Operation = logical.ReadOperation
	opCreate  Operation = logical.CreateOperation
	opUpdate  Operation = logical.UpdateOperation
	opDelete  Operation = logical.DeleteOperation
	opList    Operation = logical.ListOperation
	opHelp    Operation = logical.HelpOperation
	typeLogic           = logical.TypeLogical

	pluginTypeSecrets  = consts.PluginTypeSecrets
	multiplexingCtxKey = pluginutil.MultiplexingCtxKey
)

var (
	errUnsupportedPath      = logical.ErrUnsupportedPath
	errUnsupportedOperation = logical.ErrUnsupportedOperation

	testSystemView        = logical.TestSystemView
	newOASDocumentFromMap = framework.NewOASDocumentFromMap

	optRunner             = pluginutil.Runner
	optPluginSets         = pluginutil.PluginSets
	optHandshakeConfig    = pluginutil.HandshakeConfig
	optLogger             = pluginutil.Logger
	optMetadataMode       = pluginutil.MetadataMode
	optAutoMTLS           = pluginutil.AutoMTLS
	multiplexingSupported = pluginutil.MultiplexingSupported

	newPluginClientV5      = sdkplugin.NewPluginClientV5
	pluginSet              = sdkplugin.PluginSet
	handshakeConfig        = sdkplugin.HandshakeConfig
	contextKeyPluginReload = sdkplugin.ContextKeyPluginReload
)

// rawBackendType and rawPluginVersion call the SDK's generated gRPC clients
// directly: the SDK's logical.Backend wrapper turns RPC errors into
// TypeUnknown / "" and these recover the error text for failure messages.
func rawBackendType(ctx context.Context, cc grpc.ClientConnInterface) (uint32, error) {
	r, err := pb.NewBackendClient(cc).Type(ctx, &pb.Empty{})
	if err != nil {
		return 0, err
	}
	return r.Type, nil
}

func rawPluginVersion(ctx context.Context, cc grpc.ClientConnInterface) (string, error) {
	r, err := logical.NewPluginVersionClient(cc).Version(ctx, &logical.Empty{})
	if err != nil {
		return "", err
	}
	return r.PluginVersion, nil
}
