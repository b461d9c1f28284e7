package conformance

// The host side: a minimal plugin catalog that spawns the plugin executable
// with pluginutil.PluginRunner.RunConfig (Vault's VAULT_* env, AutoMTLS,
// SHA-256 check), shares one process between mounts when the plugin says it
// multiplexes, and tags every per-mount call with multiplex_id metadata, as
// Vault's plugin catalog does. Everything on the wire is the SDK's and
// go-plugin's own client code.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

const (
	pluginName   = "nomad-conformance"
	vaultVersion = "1.21.0" // what the host reports as VAULT_VERSION and PluginEnv
	callTimeout  = 30 * time.Second
)

// ---------------------------------------------------------------------------
// configuration

func pluginBinary() string {
	if p := os.Getenv("PLUGIN_BINARY"); p != "" {
		return p
	}
	return "../../dist/vault-plugin-secrets-nomad"
}

func descriptorPath() string {
	if p := os.Getenv("PLUGIN_DESCRIPTORS"); p != "" {
		return p
	}
	return "../../src/generated/descriptors.binpb"
}

func packageJSONPath() string {
	if p := os.Getenv("PLUGIN_PACKAGE_JSON"); p != "" {
		return p
	}
	return "../../package.json"
}

// requireBinary returns the absolute path and SHA-256 of the plugin
// executable, failing the test (never skipping) when it is missing.
func requireBinary(t *testing.T) (string, []byte) {
	t.Helper()
	p, err := filepath.Abs(pluginBinary())
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatalf("plugin executable not usable (build it with `npm run build`, or set PLUGIN_BINARY): %v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&0o111 == 0 {
		t.Fatalf("plugin executable %s is not executable (mode %v)", p, st.Mode())
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return p, h.Sum(nil)
}

func expectedPluginVersion(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(packageJSONPath())
	if err != nil {
		t.Fatalf("reading package.json: %v", err)
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(raw, &pkg); err != nil {
		t.Fatalf("parsing package.json: %v", err)
	}
	if pkg.Version == "" {
		t.Fatal("package.json has no version")
	}
	return pkg.Version
}

// ---------------------------------------------------------------------------
// logging: everything (host, go-plugin, the plugin's stderr as forwarded by
// go-plugin) goes to a per-test buffer that is printed only when the test
// fails (or always with CONFORMANCE_VERBOSE=1). Structured events are kept
// for assertions.

type logEvent struct {
	name  string
	level hclog.Level
	msg   string
	args  []interface{}
}

type testLog struct {
	mu     sync.Mutex
	buf    strings.Builder
	events []logEvent
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *testLog) Accept(name string, level hclog.Level, msg string, args ...interface{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, logEvent{name: name, level: level, msg: msg, args: args})
}

func (l *testLog) find(msg string) []logEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []logEvent
	for _, e := range l.events {
		if e.msg == msg {
			out = append(out, e)
		}
	}
	return out
}

func (l *testLog) all() []logEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]logEvent(nil), l.events...)
}

func (l *testLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newTestLogger(t *testing.T) (hclog.Logger, *testLog) {
	tl := &testLog{}
	var out io.Writer = tl
	if os.Getenv("CONFORMANCE_VERBOSE") != "" {
		out = io.MultiWriter(tl, os.Stderr)
	}
	logger := hclog.NewInterceptLogger(&hclog.LoggerOptions{
		Name:   "host",
		Level:  hclog.Trace,
		Output: out,
	})
	logger.RegisterSink(tl)
	t.Cleanup(func() {
		if t.Failed() && os.Getenv("CONFORMANCE_VERBOSE") == "" {
			t.Logf("host/plugin log:\n%s", tl.String())
		}
	})
	return logger, tl
}

// ---------------------------------------------------------------------------
// the catalog (pluginutil.RunnerUtil)

// pluginProcess is one running plugin executable.
type pluginProcess struct {
	client      *goplugin.Client
	rpc         goplugin.ClientProtocol
	conn        *grpc.ClientConn
	multiplexed bool
	pid         int
	refs        int

	stopOnce sync.Once
	stopped  chan struct{}
	killTook time.Duration
}

// stop shuts the process down the way go-plugin does for Vault:
// GRPCController.Shutdown, close the connection, wait up to 2 s, then kill.
func (p *pluginProcess) stop() {
	p.stopOnce.Do(func() {
		start := time.Now()
		p.client.Kill()
		p.killTook = time.Since(start)
		close(p.stopped)
	})
}

// catalog implements pluginutil.RunnerUtil the way Vault's plugin catalog
// does for external secrets plugins. The embedded StaticSystemView supplies
// VaultVersion/MlockEnabled/ResponseWrapData (Vault passes its system view).
type catalog struct {
	StaticSystemView

	t      *testing.T
	runner *PluginRunner
	logger hclog.Logger

	mu        sync.Mutex
	current   *pluginProcess // process new multiplexed mounts join
	processes []*pluginProcess
	clients   []*mountClient
}

func newCatalog(t *testing.T, logger hclog.Logger, args ...string) *catalog {
	t.Helper()
	bin, sum := requireBinary(t)
	c := &catalog{
		StaticSystemView: StaticSystemView{VersionString: vaultVersion},
		t:                t,
		logger:           logger,
		runner: &PluginRunner{
			Name:    pluginName,
			Type:    pluginTypeSecrets,
			Command: bin,
			Args:    args,
			Env:     []string{},
			Sha256:  sum,
			Version: "",
		},
	}
	t.Cleanup(c.killAll)
	return c
}

// NewPluginClient is what the SDK's NewPluginClientV5 calls.
func (c *catalog) NewPluginClient(ctx context.Context, config PluginClientConfig) (PluginClient, error) {
	c.mu.Lock()
	defer c.mu.Unlock()

	proc := c.current
	if proc == nil || !proc.multiplexed || proc.client.Exited() {
		var err error
		proc, err = c.startProcess(ctx, config)
		if err != nil {
			return nil, err
		}
	}
	proc.refs++
	mc := &mountClient{cat: c, proc: proc, id: newMultiplexID()}
	mc.conn = &multiplexConn{cc: proc.conn, id: mc.id}
	c.clients = append(c.clients, mc)
	return mc, nil
}

func (c *catalog) startProcess(ctx context.Context, config PluginClientConfig) (*pluginProcess, error) {
	client, err := c.runner.RunConfig(ctx,
		optRunner(config.Wrapper),
		optPluginSets(config.PluginSets),
		optHandshakeConfig(config.HandshakeConfig),
		optLogger(config.Logger),
		optMetadataMode(false),
		optAutoMTLS(config.AutoMTLS),
	)
	if err != nil {
		return nil, err
	}
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, err
	}
	grpcClient, ok := rpc.(*goplugin.GRPCClient)
	if !ok {
		client.Kill()
		return nil, fmt.Errorf("plugin did not negotiate gRPC (got %T)", rpc)
	}
	proc := &pluginProcess{client: client, rpc: rpc, conn: grpcClient.Conn, stopped: make(chan struct{})}
	if rc := client.ReattachConfig(); rc != nil {
		proc.pid = rc.Pid
	}
	// Vault asks on the raw connection, without multiplex_id metadata.
	mctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	proc.multiplexed, err = multiplexingSupported(mctx, grpcClient.Conn, c.runner.Name)
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("MultiplexingSupport: %w", err)
	}
	c.current = proc
	c.processes = append(c.processes, proc)
	return proc, nil
}

func (c *catalog) release(mc *mountClient) {
	c.mu.Lock()
	mc.proc.refs--
	last := mc.proc.refs <= 0
	if last && c.current == mc.proc {
		c.current = nil
	}
	c.mu.Unlock()
	if last {
		mc.proc.stop()
	}
}

// reload kills the process of mc (and with it every mount multiplexed in it);
// the next NewPluginClient starts a new one.
func (c *catalog) reload(mc *mountClient) {
	c.mu.Lock()
	if c.current == mc.proc {
		c.current = nil
	}
	c.mu.Unlock()
	mc.proc.stop()
}

func (c *catalog) killAll() {
	c.mu.Lock()
	procs := append([]*pluginProcess(nil), c.processes...)
	c.mu.Unlock()
	for _, p := range procs {
		p.stop()
	}
}

func (c *catalog) processCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.processes)
}

func (c *catalog) lastClient() *mountClient {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.clients) == 0 {
		return nil
	}
	return c.clients[len(c.clients)-1]
}

// mountClient is the pluginutil.PluginClient handed to one mount.
type mountClient struct {
	cat  *catalog
	proc *pluginProcess
	id   string
	conn grpc.ClientConnInterface

	closeOnce sync.Once
}

func (m *mountClient) Conn() grpc.ClientConnInterface         { return m.conn }
func (m *mountClient) Dispense(n string) (interface{}, error) { return m.proc.rpc.Dispense(n) }
func (m *mountClient) Ping() error                            { return m.proc.rpc.Ping() }
func (m *mountClient) Reload() error                          { m.cat.reload(m); return nil }
func (m *mountClient) Close() error {
	m.closeOnce.Do(func() { m.cat.release(m) })
	return nil
}

// multiplexConn adds the mount's multiplex_id to every call, like Vault's
// plugin catalog connection wrapper.
type multiplexConn struct {
	cc *grpc.ClientConn
	id string
}

func (c *multiplexConn) Invoke(ctx context.Context, method string, args, reply interface{}, opts ...grpc.CallOption) error {
	ctx = metadata.AppendToOutgoingContext(ctx, multiplexingCtxKey, c.id)
	return c.cc.Invoke(ctx, method, args, reply, opts...)
}

func (c *multiplexConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	ctx = metadata.AppendToOutgoingContext(ctx, multiplexingCtxKey, c.id)
	return c.cc.NewStream(ctx, desc, method, opts...)
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func newMultiplexID() string {
	b := make([]byte, 10)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(base62))))
		if err != nil {
			panic(err)
		}
		b[i] = base62[n.Int64()]
	}
	return string(b)
}

// ---------------------------------------------------------------------------
// mounts

type mount struct {
	t       *testing.T
	b       Backend
	client  *mountClient
	storage *InmemStorage
	sys     *StaticSystemView

	didSetup    bool
	cleanupOnce sync.Once
}

func (m *mount) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	t.Cleanup(cancel)
	return ctx
}

func newSystemView() *StaticSystemView {
	sys := testSystemView()
	sys.VersionString = vaultVersion
	sys.PluginEnvironment = &PluginEnvironment{VaultVersion: vaultVersion}
	return sys
}

// mountConfig is the BackendConfig.Config Vault passes when mounting.
func mountConfig() map[string]string {
	return map[string]string{
		"plugin_name":    pluginName,
		"plugin_type":    "secret",
		"plugin_version": "",
	}
}

// dispense creates the SDK's v5 backend client (NewPluginClientV5 → our
// catalog → RunConfig) without calling Setup.
func dispense(t *testing.T, c *catalog, logger hclog.Logger) *mount {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	b, err := newPluginClientV5(ctx, c, PluginClientConfig{
		Name:            pluginName,
		PluginType:      pluginTypeSecrets,
		Version:         "",
		PluginSets:      pluginSet,
		HandshakeConfig: handshakeConfig,
		Logger:          logger.Named(pluginName),
		AutoMTLS:        true,
		Wrapper:         c,
	})
	if err != nil {
		t.Fatalf("starting the plugin as Vault's catalog does (v5, AutoMTLS): %v", err)
	}
	m := &mount{t: t, b: b, client: c.lastClient(), storage: &InmemStorage{}, sys: newSystemView()}
	t.Cleanup(func() { m.cleanup(context.Background()) })
	return m
}

// setup calls Backend.Setup (which starts the host's brokered
// Storage/SystemView server) with the given storage.
func (m *mount) setup(t *testing.T, config map[string]string, logger hclog.Logger) error {
	m.didSetup = true
	return m.b.Setup(m.ctx(t), &BackendConfig{
		StorageView: m.storage,
		Logger:      logger,
		System:      m.sys,
		Config:      config,
		BackendUUID: "",
	})
}

// newMount = dispense + Setup + Initialize: what Vault does on mount.
func newMount(t *testing.T, c *catalog, logger hclog.Logger, storage *InmemStorage) *mount {
	t.Helper()
	m := dispense(t, c, logger)
	if storage != nil {
		m.storage = storage
	}
	if err := m.setup(t, mountConfig(), logger); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	if err := m.b.Initialize(m.ctx(t), nil); err != nil {
		t.Fatalf("Initialize: %v", err)
	}
	return m
}

// cleanup calls Backend.Cleanup (the SDK's BackendPluginClientV5 then closes
// the plugin client, which stops the process when it was the last mount).
func (m *mount) cleanup(ctx context.Context) {
	m.cleanupOnce.Do(func() { m.doCleanup(ctx) })
}

func (m *mount) doCleanup(ctx context.Context) {
	if !m.didSetup {
		// Vault never cleans up a backend it did not set up; the SDK's
		// Cleanup would wait forever for the brokered server Setup starts.
		_ = m.client.Close()
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		m.b.Cleanup(cctx)
	}()
	select {
	case <-done:
	case <-time.After(callTimeout + 5*time.Second):
		m.t.Errorf("Backend.Cleanup did not return within %v", callTimeout+5*time.Second)
		m.client.proc.stop()
	}
}

func (m *mount) request(op Operation, path string, data map[string]interface{}) *Request {
	return &Request{
		ID:         newMultiplexID(),
		Operation:  op,
		Path:       path,
		Data:       data,
		MountPoint: "nomad/",
		MountType:  pluginName,
	}
}

func (m *mount) handle(t *testing.T, op Operation, path string, data map[string]interface{}) (*Response, error) {
	return m.b.HandleRequest(m.ctx(t), m.request(op, path, data))
}

func (m *mount) mustHandle(t *testing.T, op Operation, path string, data map[string]interface{}) *Response {
	t.Helper()
	resp, err := m.handle(t, op, path, data)
	if err != nil {
		t.Fatalf("%s %q: error: %v (response %#v)", op, path, err, resp)
	}
	if resp != nil && resp.IsError() {
		t.Fatalf("%s %q: error response: %v", op, path, resp.Error())
	}
	return resp
}

// write behaves like Vault's request handling for an update request:
// existence check first, create when the item does not exist.
func (m *mount) write(t *testing.T, path string, data map[string]interface{}) *Response {
	t.Helper()
	found, exists, err := m.b.HandleExistenceCheck(m.ctx(t), m.request(opUpdate, path, data))
	if err != nil && err != errUnsupportedPath {
		t.Fatalf("existence check on %q: %v", path, err)
	}
	op := opUpdate
	if err == nil && found && !exists {
		op = opCreate
	}
	return m.mustHandle(t, op, path, data)
}

// within fails the test if f does not return in d (the SDK's Type,
// SpecialPaths and PluginVersion calls have no deadline of their own).
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %v", what, d)
	}
}

// asInt64 reads a number as decoded by the SDK (json.Number) or given natively.
func asInt64(v interface{}) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, true
		}
		if f, err := x.Float64(); err == nil && f == float64(int64(f)) {
			return int64(f), true
		}
	case float64:
		if x == float64(int64(x)) {
			return int64(x), true
		}
	case int:
		return int64(x), true
	case int64:
		return x, true
	}
	return 0, false
}

// assertGracefulExit checks that the process left on its own after
// GRPCController.Shutdown (go-plugin kills it only after 2 s) and exited 0.
func assertGracefulExit(t *testing.T, p *pluginProcess, log *testLog) {
	t.Helper()
	select {
	case <-p.stopped:
	case <-time.After(10 * time.Second):
		t.Fatalf("plugin process %d was not stopped", p.pid)
	}
	if !p.client.Exited() {
		t.Errorf("plugin process %d has not exited", p.pid)
	}
	if len(log.find("plugin failed to exit gracefully")) > 0 || p.killTook >= 2*time.Second {
		t.Errorf("plugin process %d did not exit within 2 s of GRPCController.Shutdown (took %v; go-plugin killed it)", p.pid, p.killTook)
	}
	for _, e := range log.find("plugin process exited") {
		if e.level == hclog.Error {
			t.Errorf("plugin process exited with an error: %v", e.args)
		}
	}
}
