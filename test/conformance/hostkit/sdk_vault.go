//go:build !openbao

package hostkit

// The only SDK-specific part of hostkit (and of the suite): names bound to the
// HashiCorp Vault SDK (github.com/hashicorp/vault/sdk). sdk_openbao.go binds the
// same names to OpenBao's SDK; the build tag picks one.

import (
	"context"
	"strings"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/consts"
	"github.com/hashicorp/vault/sdk/helper/pluginutil"
	"github.com/hashicorp/vault/sdk/helper/wrapping"
	"github.com/hashicorp/vault/sdk/logical"
	sdkplugin "github.com/hashicorp/vault/sdk/plugin"
	"github.com/hashicorp/vault/sdk/plugin/pb"
)

const (
	// SDKName names the SDK this build links.
	SDKName = "vault"
	// AbsentIsDifference: our protos claim Vault's wire format, so anything we
	// declare must exist in this SDK.
	AbsentIsDifference = true
)

type (
	Backend            = logical.Backend
	BackendConfig      = logical.BackendConfig
	Request            = logical.Request
	Response           = logical.Response
	Operation          = logical.Operation
	Secret             = logical.Secret
	LeaseOptions       = logical.LeaseOptions
	SystemView         = logical.SystemView
	InmemStorage       = logical.InmemStorage
	StorageEntry       = logical.StorageEntry
	StaticSystemView   = logical.StaticSystemView
	PluginEnvironment  = logical.PluginEnvironment
	PluginVersioner    = logical.PluginVersioner
	PluginRunner       = pluginutil.PluginRunner
	PluginClientConfig = pluginutil.PluginClientConfig
	PluginClient       = pluginutil.PluginClient
	RunnerUtil         = pluginutil.RunnerUtil
	RunOpt             = pluginutil.RunOpt
	ResponseWrapInfo   = wrapping.ResponseWrapInfo
)

const (
	OpRead      Operation = logical.ReadOperation
	OpCreate    Operation = logical.CreateOperation
	OpUpdate    Operation = logical.UpdateOperation
	OpDelete    Operation = logical.DeleteOperation
	OpList      Operation = logical.ListOperation
	OpHelp      Operation = logical.HelpOperation
	OpRenew     Operation = logical.RenewOperation
	OpRevoke    Operation = logical.RevokeOperation
	OpRollback  Operation = logical.RollbackOperation
	TypeLogical           = logical.TypeLogical

	PluginTypeSecrets = consts.PluginTypeSecrets

	ReplicationPerformanceStandby   = consts.ReplicationPerformanceStandby
	ReplicationPerformanceSecondary = consts.ReplicationPerformanceSecondary
	MultiplexingCtxKey              = pluginutil.MultiplexingCtxKey
)

var (
	ErrUnsupportedPath      = logical.ErrUnsupportedPath
	ErrUnsupportedOperation = logical.ErrUnsupportedOperation
	ErrPluginShutdown       = sdkplugin.ErrPluginShutdown
	ErrClientInMetadataMode = sdkplugin.ErrClientInMetadataMode

	TestSystemView        = logical.TestSystemView
	ErrorResponse         = logical.ErrorResponse
	NewOASDocumentFromMap = framework.NewOASDocumentFromMap
	CalculateTTL          = framework.CalculateTTL
	RenewRequest          = logical.RenewRequest
	RevokeRequest         = logical.RevokeRequest
	RollbackRequest       = logical.RollbackRequest

	OptRunner             = pluginutil.Runner
	OptPluginSets         = pluginutil.PluginSets
	OptHandshakeConfig    = pluginutil.HandshakeConfig
	OptLogger             = pluginutil.Logger
	OptMetadataMode       = pluginutil.MetadataMode
	OptAutoMTLS           = pluginutil.AutoMTLS
	OptEnv                = pluginutil.Env
	MultiplexingSupported = pluginutil.MultiplexingSupported

	NewPluginClientV5      = sdkplugin.NewPluginClientV5
	PluginSet              = sdkplugin.PluginSet
	HandshakeConfig        = sdkplugin.HandshakeConfig
	ContextKeyPluginReload = sdkplugin.ContextKeyPluginReload
)

// LegacyPluginSet is the plugin set of the SDK's legacy NewPluginClient
// (protocols 3 and 4, identical; no AutoMTLS).
func LegacyPluginSet(metadataMode bool) map[int]goplugin.PluginSet {
	return map[int]goplugin.PluginSet{
		3: {"backend": &sdkplugin.GRPCBackendPlugin{MetadataMode: metadataMode}},
		4: {"backend": &sdkplugin.GRPCBackendPlugin{MetadataMode: metadataMode}},
	}
}

// The Raw* functions call the SDK's generated gRPC clients directly: the SDK's
// logical.Backend wrapper turns RPC errors into TypeUnknown / "" (and refuses
// some calls itself in metadata mode); these show what the plugin answered.

func RawBackendType(ctx context.Context, cc grpc.ClientConnInterface) (uint32, error) {
	r, err := pb.NewBackendClient(cc).Type(ctx, &pb.Empty{})
	if err != nil {
		return 0, err
	}
	return r.Type, nil
}

func RawPluginVersion(ctx context.Context, cc grpc.ClientConnInterface) (string, error) {
	r, err := logical.NewPluginVersionClient(cc).Version(ctx, &logical.Empty{})
	if err != nil {
		return "", err
	}
	return r.PluginVersion, nil
}

// RawHandleRequest sends a read of path; it returns the gRPC error, or the
// reply's own error text (ProtoError.err_msg) as replyErr.
func RawHandleRequest(ctx context.Context, cc grpc.ClientConnInterface, path string) (replyErr string, err error) {
	r, err := pb.NewBackendClient(cc).HandleRequest(ctx, &pb.HandleRequestArgs{Request: &pb.Request{ID: "raw", Operation: "read", Path: path, Data: "null"}})
	if err != nil {
		return "", err
	}
	if r.Err != nil {
		return r.Err.ErrMsg, nil
	}
	return "", nil
}

func RawHandleExistenceCheck(ctx context.Context, cc grpc.ClientConnInterface, path string) (replyErr string, err error) {
	r, err := pb.NewBackendClient(cc).HandleExistenceCheck(ctx, &pb.HandleExistenceCheckArgs{Request: &pb.Request{ID: "raw", Operation: "update", Path: path, Data: "{}"}})
	if err != nil {
		return "", err
	}
	if r.Err != nil {
		return r.Err.ErrMsg, nil
	}
	return "", nil
}

func RawInitialize(ctx context.Context, cc grpc.ClientConnInterface) (replyErr string, err error) {
	r, err := pb.NewBackendClient(cc).Initialize(ctx, &pb.InitializeArgs{})
	if err != nil {
		return "", err
	}
	if r.Err != nil {
		return r.Err.ErrMsg, nil
	}
	return "", nil
}

// ShouldForward is the host's test for "run this on the active node": Vault's
// SDK has no helper for it (OpenBao's logical.ShouldForward), so this matches
// logical.ErrReadOnly's text, as Vault's request forwarding does.
func ShouldForward(err error) bool {
	return err != nil && strings.Contains(err.Error(), logical.ErrReadOnly.Error())
}
