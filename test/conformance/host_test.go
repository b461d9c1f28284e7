package conformance

// testing.T glue around hostkit (the host machinery lives there so that a
// `main` program, e.g. a benchmark, can use it too): each helper fails the
// test instead of returning an error, and registers the cleanups.

import (
	"context"
	"io"
	"os"
	"testing"
	"time"

	hclog "github.com/hashicorp/go-hclog"

	"github.com/nomad-plugin/conformance/hostkit"
)

// Short names for the SDK types and constants the tests use (bound to one SDK
// by the build tag inside hostkit).
type (
	Response     = hostkit.Response
	Request      = hostkit.Request
	Operation    = hostkit.Operation
	InmemStorage = hostkit.InmemStorage
	mount        = hostkit.Mount
	catalog      = hostkit.Catalog
	testLog      = hostkit.Log
)

const (
	opRead    = hostkit.OpRead
	opCreate  = hostkit.OpCreate
	opUpdate  = hostkit.OpUpdate
	opDelete  = hostkit.OpDelete
	opList    = hostkit.OpList
	opHelp    = hostkit.OpHelp
	typeLogic = hostkit.TypeLogical

	callTimeout  = hostkit.CallTimeout
	vaultVersion = hostkit.VaultVersion
	pluginName   = hostkit.PluginName
)

var (
	errUnsupportedPath      = hostkit.ErrUnsupportedPath
	errUnsupportedOperation = hostkit.ErrUnsupportedOperation
	asInt64                 = hostkit.AsInt64
)

// newTestLogger: everything (host, go-plugin, the plugin's stderr as
// forwarded by go-plugin) goes to a per-test buffer that is printed only when
// the test fails (or always with CONFORMANCE_VERBOSE=1).
func newTestLogger(t *testing.T) (hclog.Logger, *hostkit.Log) {
	t.Helper()
	var extra io.Writer
	if os.Getenv("CONFORMANCE_VERBOSE") != "" {
		extra = os.Stderr
	}
	logger, l := hostkit.NewLogger(extra)
	t.Cleanup(func() {
		if t.Failed() && os.Getenv("CONFORMANCE_VERBOSE") == "" {
			t.Logf("host/plugin log:\n%s", l.String())
		}
	})
	return logger, l
}

// requireBinary returns the absolute path and SHA-256 of the plugin
// executable, failing the test (never skipping) when it is missing.
func requireBinary(t *testing.T) (string, []byte) {
	t.Helper()
	bin, sum, err := hostkit.BinaryInfo(hostkit.PluginBinary())
	if err != nil {
		t.Fatal(err)
	}
	return bin, sum
}

func expectedPluginVersion(t *testing.T) string {
	t.Helper()
	v, err := hostkit.ExpectedPluginVersion()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func newCatalog(t *testing.T, logger hclog.Logger, args ...string) *hostkit.Catalog {
	t.Helper()
	bin, sum := requireBinary(t)
	c := hostkit.NewCatalog(hostkit.CatalogOptions{Command: bin, Sha256: sum, Args: args, Logger: logger})
	t.Cleanup(c.Close)
	return c
}

// ctxFor is a context bounded by callTimeout, cancelled when the test ends.
func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	t.Cleanup(cancel)
	return ctx
}

// dispense creates the SDK's v5 backend client without calling Setup; the
// mount is cleaned up when the test ends.
func dispense(t *testing.T, c *hostkit.Catalog, logger hclog.Logger) *hostkit.Mount {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	m, err := hostkit.Dispense(ctx, c, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cleanup(t, m, context.Background()) })
	return m
}

// newMount = dispense + Setup + Initialize: what Vault does on mount.
func newMount(t *testing.T, c *hostkit.Catalog, logger hclog.Logger, storage *InmemStorage) *hostkit.Mount {
	t.Helper()
	m := dispense(t, c, logger)
	if storage != nil {
		m.Storage = storage
	}
	if err := m.Setup(ctxFor(t), hostkit.MountConfig()); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	if err := m.Initialize(ctxFor(t)); err != nil {
		t.Fatalf("Initialize: %v", err)
	}
	return m
}

func setup(t *testing.T, m *hostkit.Mount, config map[string]string) error {
	return m.Setup(ctxFor(t), config)
}

func cleanup(t *testing.T, m *hostkit.Mount, ctx context.Context) {
	if err := m.Cleanup(ctx); err != nil {
		t.Errorf("%v", err)
	}
}

func handle(t *testing.T, m *hostkit.Mount, op Operation, path string, data map[string]interface{}) (*Response, error) {
	return m.Handle(ctxFor(t), op, path, data)
}

func mustHandle(t *testing.T, m *hostkit.Mount, op Operation, path string, data map[string]interface{}) *Response {
	t.Helper()
	resp, err := handle(t, m, op, path, data)
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
func write(t *testing.T, m *hostkit.Mount, path string, data map[string]interface{}) *Response {
	t.Helper()
	resp, err := m.Write(ctxFor(t), path, data)
	if err != nil {
		t.Fatalf("write %q: error: %v (response %#v)", path, err, resp)
	}
	if resp != nil && resp.IsError() {
		t.Fatalf("write %q: error response: %v", path, resp.Error())
	}
	return resp
}

// within fails the test if f does not return in d (the SDK's Type,
// SpecialPaths and PluginVersion calls have no deadline of their own).
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	if !hostkit.Within(d, f) {
		t.Fatalf("%s did not return within %v", what, d)
	}
}

// assertGracefulExit checks that the process left on its own after
// GRPCController.Shutdown (go-plugin kills it only after 2 s) and exited 0.
func assertGracefulExit(t *testing.T, p *hostkit.Process, log *hostkit.Log) {
	t.Helper()
	select {
	case <-p.Stopped():
	case <-time.After(10 * time.Second):
		t.Fatalf("plugin process %d was not stopped", p.Pid)
	}
	if !p.Exited() {
		t.Errorf("plugin process %d has not exited", p.Pid)
	}
	if len(log.Find("plugin failed to exit gracefully")) > 0 || p.KillTook() >= 2*time.Second {
		t.Errorf("plugin process %d did not exit within 2 s of GRPCController.Shutdown (took %v; go-plugin killed it)", p.Pid, p.KillTook())
	}
	for _, e := range log.Find("plugin process exited") {
		if e.Level == hclog.Error {
			t.Errorf("plugin process exited with an error: %v", e.Args)
		}
	}
}
