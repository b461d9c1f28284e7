package hostkit

import (
	"context"
	"errors"
	"fmt"
	"net/rpc"
	"reflect"
	"sync"
	"time"
	"unsafe"

	hclog "github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
)

// MountPoint is where the host pretends the engine is mounted.
const MountPoint = "nomad/"

// Mount is one secrets-engine mount: the SDK's v5 backend client (created
// through the Catalog), the mount's own storage and system view. Like Vault's
// builtin/plugin/v5 wrapper, HandleRequest and HandleExistenceCheck reload the
// plugin (Cleanup with the reload context → new process → Setup → Initialize)
// and retry once when the SDK reports the plugin shut down.
type Mount struct {
	Catalog *Catalog
	Logger  hclog.Logger
	Storage *InmemStorage
	Sys     *StaticSystemView
	// Config is the BackendConfig.Config of the last Setup.
	Config map[string]string
	// AutoReload mirrors Vault's v5 wrapper (default true).
	AutoReload bool

	mu       sync.RWMutex
	b        Backend
	client   *MountClient
	didSetup bool
	canary   uint64
	reloads  int

	expiration *Expiration

	cleanupOnce sync.Once
	cleanupErr  error
}

// B is the SDK backend client currently serving the mount.
func (m *Mount) B() Backend {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.b
}

// Client is the catalog's PluginClient currently serving the mount.
func (m *Mount) Client() *MountClient {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.client
}

// Reloads counts automatic and explicit reloads.
func (m *Mount) Reloads() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.reloads
}

// NewSystemView is the mount's system view (TestSystemView's 24 h / 48 h
// lease TTLs) reporting the host's Vault version in PluginEnv.
func NewSystemView() *StaticSystemView {
	sys := TestSystemView()
	sys.VersionString = VaultVersion
	sys.PluginEnvironment = &PluginEnvironment{VaultVersion: VaultVersion}
	return sys
}

// MountConfig is the BackendConfig.Config Vault passes when mounting.
func MountConfig() map[string]string {
	return map[string]string{
		"plugin_name":    PluginName,
		"plugin_type":    "secret",
		"plugin_version": "",
	}
}

func pluginClientConfig(c *Catalog, logger hclog.Logger) PluginClientConfig {
	return PluginClientConfig{
		Name:            PluginName,
		PluginType:      PluginTypeSecrets,
		Version:         "",
		PluginSets:      PluginSet,
		HandshakeConfig: HandshakeConfig,
		Logger:          logger.Named(PluginName),
		AutoMTLS:        true,
		Wrapper:         c,
	}
}

// Dispense creates the SDK's v5 backend client (NewPluginClientV5 → the
// catalog → RunConfig) without calling Setup.
func Dispense(ctx context.Context, c *Catalog, logger hclog.Logger) (*Mount, error) {
	b, err := NewPluginClientV5(ctx, c, pluginClientConfig(c, logger))
	if err != nil {
		return nil, fmt.Errorf("starting the plugin as Vault's catalog does (v5, AutoMTLS): %w", err)
	}
	return &Mount{
		Catalog:    c,
		Logger:     logger,
		Storage:    &InmemStorage{},
		Sys:        NewSystemView(),
		AutoReload: true,
		b:          b,
		client:     c.LastClient(),
	}, nil
}

// NewMount = Dispense + Setup + Initialize: what Vault does on mount. A nil
// storage gets a fresh InmemStorage.
func NewMount(ctx context.Context, c *Catalog, logger hclog.Logger, storage *InmemStorage) (*Mount, error) {
	m, err := Dispense(ctx, c, logger)
	if err != nil {
		return nil, err
	}
	if storage != nil {
		m.Storage = storage
	}
	if err := m.Setup(ctx, MountConfig()); err != nil {
		_ = m.Cleanup(context.Background())
		return nil, fmt.Errorf("Setup: %w", err)
	}
	if err := m.Initialize(ctx); err != nil {
		_ = m.Cleanup(context.Background())
		return nil, fmt.Errorf("Initialize: %w", err)
	}
	return m, nil
}

// Setup calls Backend.Setup (which starts the host's brokered
// Storage/SystemView server) with the mount's storage.
func (m *Mount) Setup(ctx context.Context, config map[string]string) error {
	m.mu.Lock()
	m.didSetup = true
	m.Config = config
	b := m.b
	m.mu.Unlock()
	return b.Setup(ctx, m.backendConfig(config))
}

func (m *Mount) backendConfig(config map[string]string) *BackendConfig {
	return &BackendConfig{
		StorageView: m.Storage,
		Logger:      m.Logger,
		System:      m.Sys,
		Config:      config,
		BackendUUID: "",
	}
}

// Initialize calls Backend.Initialize (storage is writable from here on).
func (m *Mount) Initialize(ctx context.Context) error {
	return m.B().Initialize(ctx, nil)
}

// Cleanup calls Backend.Cleanup; the SDK's BackendPluginClientV5 then closes
// the plugin client, which stops the process when it was the last mount. Pass
// a context carrying ContextKeyPluginReload for a reload. A Cleanup that does
// not return within CallTimeout+5 s stops the process and returns an error.
// Only the first call does anything.
func (m *Mount) Cleanup(ctx context.Context) error {
	m.cleanupOnce.Do(func() { m.cleanupErr = m.doCleanup(ctx) })
	return m.cleanupErr
}

func (m *Mount) doCleanup(ctx context.Context) error {
	m.mu.RLock()
	b, client, didSetup := m.b, m.client, m.didSetup
	m.mu.RUnlock()
	return cleanupBackend(ctx, b, client, didSetup)
}

func cleanupBackend(ctx context.Context, b Backend, client *MountClient, didSetup bool) error {
	if !didSetup {
		// Vault never cleans up a backend it did not set up; the SDK's
		// Cleanup would wait forever for the brokered server Setup starts.
		_ = client.Close()
		return nil
	}
	limit := CallTimeout + 5*time.Second
	ok := Within(limit, func() {
		cctx, cancel := context.WithTimeout(ctx, CallTimeout)
		defer cancel()
		b.Cleanup(cctx)
	})
	if !ok {
		client.Proc().Stop()
		return &ErrTimeout{What: "Backend.Cleanup", After: limit}
	}
	return nil
}

// Request builds a request on this mount.
func (m *Mount) Request(op Operation, path string, data map[string]interface{}) *Request {
	return &Request{
		ID:         NewMultiplexID(),
		Operation:  op,
		Path:       path,
		Data:       data,
		MountPoint: MountPoint,
		MountType:  PluginName,
	}
}

// isShutdown is the v5 wrapper's test: net/rpc's ErrShutdown by text, or the
// SDK's ErrPluginShutdown.
func isShutdown(err error) bool {
	return err != nil && (err.Error() == rpc.ErrShutdown.Error() || errors.Is(err, ErrPluginShutdown))
}

// HandleRequest sends req as Vault's v5 wrapper does.
func (m *Mount) HandleRequest(ctx context.Context, req *Request) (*Response, error) {
	m.mu.RLock()
	b, canary := m.b, m.canary
	resp, err := b.HandleRequest(ctx, req)
	m.mu.RUnlock()
	if !m.AutoReload || !isShutdown(err) {
		return resp, err
	}
	if rerr := m.reloadIfCanary(ctx, canary); rerr != nil {
		return nil, rerr
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.b.HandleRequest(ctx, req)
}

// HandleExistenceCheck asks as Vault's v5 wrapper does.
func (m *Mount) HandleExistenceCheck(ctx context.Context, req *Request) (bool, bool, error) {
	m.mu.RLock()
	b, canary := m.b, m.canary
	found, exists, err := b.HandleExistenceCheck(ctx, req)
	m.mu.RUnlock()
	if !m.AutoReload || !isShutdown(err) {
		return found, exists, err
	}
	if rerr := m.reloadIfCanary(ctx, canary); rerr != nil {
		return false, false, rerr
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.b.HandleExistenceCheck(ctx, req)
}

// Handle sends one request (ctx bounds it).
func (m *Mount) Handle(ctx context.Context, op Operation, path string, data map[string]interface{}) (*Response, error) {
	return m.HandleRequest(ctx, m.Request(op, path, data))
}

// Write behaves like Vault's request handling for an update request:
// existence check first, create when the item does not exist.
func (m *Mount) Write(ctx context.Context, path string, data map[string]interface{}) (*Response, error) {
	found, exists, err := m.HandleExistenceCheck(ctx, m.Request(OpUpdate, path, data))
	if err != nil && err != ErrUnsupportedPath {
		return nil, fmt.Errorf("existence check on %q: %w", path, err)
	}
	op := OpUpdate
	if err == nil && found && !exists {
		op = OpCreate
	}
	return m.Handle(ctx, op, path, data)
}

// Reload is Vault's v5 reloadBackend: Cleanup with the reload context (the
// SDK then calls PluginClient.Reload, which stops the process), a new backend
// client from the catalog, Setup with the mount's config, Initialize.
func (m *Mount) Reload(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reloadLocked(ctx)
}

func (m *Mount) reloadIfCanary(ctx context.Context, canary uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.canary != canary {
		return nil // someone else reloaded already
	}
	return m.reloadLocked(ctx)
}

func (m *Mount) reloadLocked(ctx context.Context) error {
	m.Logger.Debug("host: reloading plugin backend", "multiplex_id", m.client.ID())
	reloadCtx := context.WithValue(ctx, ContextKeyPluginReload, "reload")
	if err := cleanupBackend(reloadCtx, m.b, m.client, m.didSetup); err != nil {
		return err
	}
	b, err := NewPluginClientV5(ctx, m.Catalog, pluginClientConfig(m.Catalog, m.Logger))
	if err != nil {
		return fmt.Errorf("reload: starting the plugin: %w", err)
	}
	m.b, m.client = b, m.Catalog.LastClient()
	config := m.Config
	if config == nil {
		config = MountConfig()
	}
	m.Config = config
	m.didSetup = true
	if err := b.Setup(ctx, m.backendConfig(config)); err != nil {
		return fmt.Errorf("reload: Setup: %w", err)
	}
	if err := b.Initialize(ctx, nil); err != nil {
		return fmt.Errorf("reload: Initialize: %w", err)
	}
	m.canary++
	m.reloads++
	return nil
}

// DropBrokeredServer stops the host side of this mount's brokered connection
// (the grpc.Server serving pb.Storage/pb.SystemView that the SDK's Setup
// started): every open brokered connection is closed and the listener is
// gone, as if the host had lost it. The SDK keeps that server in an
// unexported field, so it is reached by reflection.
func (m *Mount) DropBrokeredServer() error {
	s, err := brokeredServer(m.B())
	if err != nil {
		return err
	}
	s.Stop()
	return nil
}

func brokeredServer(b Backend) (*grpc.Server, error) {
	v := reflect.ValueOf(b)
	// Unwrap BackendPluginClientV5{Backend}, BackendTracingMiddleware{next}
	// until the SDK's backendGRPCPluginClient (the one with `server`).
	for depth := 0; depth < 5; depth++ {
		for v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return nil, errors.New("nil backend")
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			break
		}
		if f := v.FieldByName("server"); f.IsValid() {
			// Vault's SDK: server *atomic.Value; OpenBao's: server atomic.Pointer[grpc.Server].
			holder := reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr()))
			if f.Kind() == reflect.Pointer {
				holder = holder.Elem()
			}
			load := holder.MethodByName("Load")
			if !load.IsValid() {
				return nil, fmt.Errorf("%T: the brokered server field has no Load (%v)", b, f.Type())
			}
			s, ok := load.Call(nil)[0].Interface().(*grpc.Server)
			if !ok || s == nil {
				return nil, errors.New("the SDK client has no brokered server (Setup not run?)")
			}
			return s, nil
		}
		next := v.FieldByName("Backend")
		if !next.IsValid() {
			next = v.FieldByName("next")
		}
		if !next.IsValid() {
			break
		}
		v = reflect.NewAt(next.Type(), unsafe.Pointer(next.UnsafeAddr())).Elem()
	}
	return nil, fmt.Errorf("cannot find the brokered server inside %T", b)
}
