package hostkit

// A minimal plugin catalog that spawns the plugin executable with
// pluginutil.PluginRunner.RunConfig (Vault's VAULT_* env, AutoMTLS, SHA-256
// check), shares one process between mounts when the plugin says it
// multiplexes, and tags every per-mount call with multiplex_id metadata, as
// Vault's plugin catalog does. Everything on the wire is the SDK's and
// go-plugin's own client code.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// CallTimeout bounds one host → plugin call in the helpers (Vault has none of
// its own for most calls; a test must not hang).
const CallTimeout = 30 * time.Second

// Process is one running plugin executable.
type Process struct {
	Client      *goplugin.Client
	RPC         goplugin.ClientProtocol
	Conn        *grpc.ClientConn
	Multiplexed bool
	Pid         int

	refs     int
	stopOnce sync.Once
	stopped  chan struct{}
	killTook time.Duration
}

// Stop shuts the process down the way go-plugin does for Vault:
// GRPCController.Shutdown, close the connection, wait up to 2 s, then kill.
func (p *Process) Stop() {
	p.stopOnce.Do(func() {
		start := time.Now()
		p.Client.Kill()
		p.killTook = time.Since(start)
		close(p.stopped)
	})
}

// Stopped is closed once Stop has returned.
func (p *Process) Stopped() <-chan struct{} { return p.stopped }

// KillTook is how long Stop took (≥ 2 s means go-plugin had to kill it).
func (p *Process) KillTook() time.Duration { return p.killTook }

// Exited reports whether the OS process has exited.
func (p *Process) Exited() bool { return p.Client.Exited() }

// Signal sends sig to the OS process (e.g. syscall.SIGKILL to simulate a crash).
func (p *Process) Signal(sig syscall.Signal) error {
	if p.Pid == 0 {
		return errors.New("plugin pid unknown")
	}
	return syscall.Kill(p.Pid, sig)
}

// ResponseWrapper answers pluginutil.RunnerUtil.ResponseWrapData (the legacy
// TLS bootstrap wraps the plugin's certificate with it).
type ResponseWrapper interface {
	ResponseWrapData(ctx context.Context, data map[string]interface{}, ttl time.Duration, jwt bool) (*ResponseWrapInfo, error)
}

// CatalogOptions describe one catalog entry.
type CatalogOptions struct {
	Command string // absolute path of the executable
	Sha256  []byte
	Args    []string // catalog args
	Env     []string // catalog env
	Logger  hclog.Logger
	// Wrapper answers ResponseWrapData; nil → the StaticSystemView's error
	// (only the legacy flow asks).
	Wrapper ResponseWrapper
}

// Catalog implements pluginutil.RunnerUtil the way Vault's plugin catalog
// does for external secrets plugins. The embedded StaticSystemView supplies
// VaultVersion/MlockEnabled (Vault passes its system view).
type Catalog struct {
	StaticSystemView

	Runner  *PluginRunner
	Logger  hclog.Logger
	Wrapper ResponseWrapper

	mu        sync.Mutex
	current   *Process // the process new multiplexed mounts join
	processes []*Process
	clients   []*MountClient
}

// NewCatalog registers one executable.
func NewCatalog(opts CatalogOptions) *Catalog {
	env := opts.Env
	if env == nil {
		env = []string{}
	}
	return &Catalog{
		StaticSystemView: StaticSystemView{VersionString: VaultVersion},
		Logger:           opts.Logger,
		Wrapper:          opts.Wrapper,
		Runner: &PluginRunner{
			Name:    PluginName,
			Type:    PluginTypeSecrets,
			Command: opts.Command,
			Args:    opts.Args,
			Env:     env,
			Sha256:  opts.Sha256,
			Version: "",
		},
	}
}

// NewCatalogForBinary registers the executable at path (see BinaryInfo).
func NewCatalogForBinary(path string, logger hclog.Logger, args ...string) (*Catalog, error) {
	bin, sum, err := BinaryInfo(path)
	if err != nil {
		return nil, err
	}
	return NewCatalog(CatalogOptions{Command: bin, Sha256: sum, Args: args, Logger: logger}), nil
}

// ResponseWrapData delegates to the Wrapper (the legacy flow's unwrap server).
func (c *Catalog) ResponseWrapData(ctx context.Context, data map[string]interface{}, ttl time.Duration, jwt bool) (*ResponseWrapInfo, error) {
	if c.Wrapper != nil {
		return c.Wrapper.ResponseWrapData(ctx, data, ttl, jwt)
	}
	return c.StaticSystemView.ResponseWrapData(ctx, data, ttl, jwt)
}

// NewPluginClient is what the SDK's NewPluginClientV5 calls.
func (c *Catalog) NewPluginClient(ctx context.Context, config PluginClientConfig) (PluginClient, error) {
	c.mu.Lock()
	defer c.mu.Unlock()

	proc := c.current
	if proc == nil || !proc.Multiplexed || proc.Client.Exited() {
		var err error
		proc, err = c.startProcess(ctx, config)
		if err != nil {
			return nil, err
		}
	}
	proc.refs++
	mc := &MountClient{cat: c, proc: proc, id: NewMultiplexID()}
	mc.conn = &MultiplexConn{CC: proc.Conn, ID: mc.id}
	c.clients = append(c.clients, mc)
	return mc, nil
}

func (c *Catalog) startProcess(ctx context.Context, config PluginClientConfig) (*Process, error) {
	client, err := c.Runner.RunConfig(ctx,
		OptRunner(config.Wrapper),
		OptPluginSets(config.PluginSets),
		OptHandshakeConfig(config.HandshakeConfig),
		OptLogger(config.Logger),
		OptMetadataMode(false),
		OptAutoMTLS(config.AutoMTLS),
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
	proc := &Process{Client: client, RPC: rpc, Conn: grpcClient.Conn, stopped: make(chan struct{})}
	if rc := client.ReattachConfig(); rc != nil {
		proc.Pid = rc.Pid
	}
	// Vault asks on the raw connection, without multiplex_id metadata.
	mctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	proc.Multiplexed, err = MultiplexingSupported(mctx, grpcClient.Conn, c.Runner.Name)
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("MultiplexingSupport: %w", err)
	}
	c.current = proc
	c.processes = append(c.processes, proc)
	return proc, nil
}

func (c *Catalog) release(mc *MountClient) {
	c.mu.Lock()
	mc.proc.refs--
	last := mc.proc.refs <= 0
	if last && c.current == mc.proc {
		c.current = nil
	}
	c.mu.Unlock()
	if last {
		mc.proc.Stop()
	}
}

// reload kills the process of mc (and with it every mount multiplexed in it);
// the next NewPluginClient starts a new one.
func (c *Catalog) reload(mc *MountClient) {
	c.mu.Lock()
	if c.current == mc.proc {
		c.current = nil
	}
	c.mu.Unlock()
	mc.proc.Stop()
}

// Close stops every process the catalog started.
func (c *Catalog) Close() {
	c.mu.Lock()
	procs := append([]*Process(nil), c.processes...)
	c.mu.Unlock()
	for _, p := range procs {
		p.Stop()
	}
}

// ProcessCount is how many processes were started.
func (c *Catalog) ProcessCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.processes)
}

// Processes lists every process started, oldest first.
func (c *Catalog) Processes() []*Process {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Process(nil), c.processes...)
}

// LastClient is the most recent PluginClient handed out.
func (c *Catalog) LastClient() *MountClient {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.clients) == 0 {
		return nil
	}
	return c.clients[len(c.clients)-1]
}

// MountClient is the pluginutil.PluginClient handed to one mount.
type MountClient struct {
	cat  *Catalog
	proc *Process
	id   string
	conn grpc.ClientConnInterface

	closeOnce sync.Once
}

func (m *MountClient) Conn() grpc.ClientConnInterface         { return m.conn }
func (m *MountClient) Dispense(n string) (interface{}, error) { return m.proc.RPC.Dispense(n) }
func (m *MountClient) Ping() error                            { return m.proc.RPC.Ping() }
func (m *MountClient) Reload() error                          { m.cat.reload(m); return nil }
func (m *MountClient) Close() error {
	m.closeOnce.Do(func() { m.cat.release(m) })
	return nil
}

// Proc is the process this mount's calls go to.
func (m *MountClient) Proc() *Process { return m.proc }

// ID is the mount's multiplex_id.
func (m *MountClient) ID() string { return m.id }

// MultiplexConn adds a mount's multiplex_id to every call, like Vault's
// plugin catalog connection wrapper.
type MultiplexConn struct {
	CC *grpc.ClientConn
	ID string
}

func (c *MultiplexConn) Invoke(ctx context.Context, method string, args, reply interface{}, opts ...grpc.CallOption) error {
	ctx = metadata.AppendToOutgoingContext(ctx, MultiplexingCtxKey, c.ID)
	return c.CC.Invoke(ctx, method, args, reply, opts...)
}

func (c *MultiplexConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	ctx = metadata.AppendToOutgoingContext(ctx, MultiplexingCtxKey, c.ID)
	return c.CC.NewStream(ctx, desc, method, opts...)
}
