//go:build openbao

package conformance

import (
	"context"

	"google.golang.org/grpc"

	"github.com/openbao/openbao/sdk/v2/framework"
	"github.com/openbao/openbao/sdk/v2/helper/consts"
	"github.com/openbao/openbao/sdk/v2/helper/pluginutil"
	"github.com/openbao/openbao/sdk/v2/logical"
	sdkplugin "github.com/openbao/openbao/sdk/v2/plugin"
	"github.com/openbao/openbao/sdk/v2/plugin/pb"
)

// The only SDK-specific part of the suite: names it uses, bound to the
// OpenBao SDK (github.com/openbao/openbao/sdk/v2).

const (
	sdkName = "openbao"
	// OpenBao is a documented subset of Vault's wire format (reference §11).
	absentIsDifference = false
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
