package conformance

// Tests that drive the plugin through the SDK's v5 backend client, launched
// by our catalog exactly as Vault's plugin catalog launches it.

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nomad-plugin/conformance/hostkit"
)

// TestRegistration mirrors `vault plugin register`: spawn (v5, AutoMTLS,
// MultiplexingSupport on the raw conn) → Setup with an empty BackendConfig
// config → PluginVersion → Cleanup, after which the process must leave by
// itself within 2 s of GRPCController.Shutdown and exit 0.
func TestRegistration(t *testing.T) {
	want := expectedPluginVersion(t)
	cases := []struct {
		name string
		args []string
	}{
		{"no catalog args", nil},
		// Vault passes catalog args in every mode; a v5 plugin must tolerate
		// the legacy TLS flags operators put there.
		{"legacy TLS flags in catalog args", []string{"-tls-skip-verify", "-ca-cert=/etc/vault/plugin-ca.pem"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			logger, log := newTestLogger(t)
			c := newCatalog(t, logger, tc.args...)
			m := dispense(t, c, logger)
			if err := setup(t, m, map[string]string{}); err != nil {
				t.Fatalf("Setup with an empty config (registration): %v", err)
			}
			var got string
			within(t, callTimeout, "PluginVersion", func() {
				v, ok := m.B().(hostkit.PluginVersioner)
				if !ok {
					t.Errorf("SDK backend client %T is not a PluginVersioner", m.B())
					return
				}
				got = v.PluginVersion().Version
			})
			// Vault compares the reported version as a string with the
			// registered -version, conventionally written with a leading "v"
			// (builtin and HashiCorp plugins report "vX.Y.Z"); accept either
			// spelling of package.json's version.
			if got != want && got != "v"+want {
				raw, err := hostkit.RawPluginVersion(ctxFor(t), m.Client().Conn())
				t.Errorf("PluginVersion = %q, want %q or %q (package.json); raw logical.PluginVersion/Version: %q, err %v", got, want, "v"+want, raw, err)
			}
			if c.ProcessCount() != 1 {
				t.Errorf("%d plugin processes started, want 1", c.ProcessCount())
			}
			cleanup(t, m, context.Background())
			assertGracefulExit(t, m.Client().Proc(), log)
			assertHclogStderr(t, c, log)
		})
	}
}

// assertHclogStderr: go-plugin re-logs each plugin stderr line; a JSON line
// it cannot parse as hclog (e.g. @timestamp without exactly 6 fractional
// digits) is re-logged verbatim at DEBUG instead of at its level.
func assertHclogStderr(t *testing.T, c *catalog, log *testLog) {
	t.Helper()
	suffix := "." + filepath.Base(c.Runner.Command)
	parsed := 0
	for _, e := range log.All() {
		if !strings.HasSuffix(e.Name, suffix) {
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(e.Msg), "{") {
			t.Errorf("plugin stderr line not understood as hclog JSON by go-plugin: %s", e.Msg)
			continue
		}
		parsed++
	}
	if parsed == 0 {
		t.Errorf("no plugin stderr line reached the host logger as an hclog entry")
	}
}

// TestMountSequence mirrors `vault secrets enable`: Setup (mount config) →
// Type → SpecialPaths → Initialize.
func TestMountSequence(t *testing.T) {
	logger, _ := newTestLogger(t)
	c := newCatalog(t, logger)
	m := dispense(t, c, logger)
	if err := setup(t, m, hostkit.MountConfig()); err != nil {
		t.Fatalf("Setup: %v", err)
	}

	within(t, callTimeout, "Type", func() {
		if got := m.B().Type(); got != typeLogic {
			raw, err := hostkit.RawBackendType(ctxFor(t), m.Client().Conn())
			t.Errorf("Type() = %v, want %v (TypeLogical); raw pb.Backend/Type: %d, err %v", got, typeLogic, raw, err)
		}
	})

	within(t, callTimeout, "SpecialPaths", func() {
		paths := m.B().SpecialPaths()
		if paths == nil {
			t.Errorf("SpecialPaths() = nil (RPC failed or no paths returned); want seal_wrap_storage [config/access]")
			return
		}
		if !contains(paths.SealWrapStorage, "config/access") {
			t.Errorf("SpecialPaths().SealWrapStorage = %q, want it to contain \"config/access\"", paths.SealWrapStorage)
		}
	})

	if err := m.B().Initialize(ctxFor(t), nil); err != nil {
		t.Fatalf("Initialize: %v", err)
	}
}

// TestStorageRoundTrip proves the plugin dialed back through the go-plugin
// broker with mTLS: the only way an entry can appear in the host's
// InmemStorage is the brokered pb.Storage server the SDK started in Setup.
func TestStorageRoundTrip(t *testing.T) {
	cases := []struct {
		name            string
		ttl, maxTTL     interface{}
		wantTTL, wantMx int64
	}{
		{"duration strings", "1h", "2h", 3600, 7200},
		{"integer seconds", json.Number("3600"), json.Number("7200"), 3600, 7200},
		{"seconds as strings", "600", "1200", 600, 1200},
	}
	logger, _ := newTestLogger(t)
	c := newCatalog(t, logger)
	m := newMount(t, c, logger, nil)

	for _, tc := range cases {
		t.Run("config/lease "+tc.name, func(t *testing.T) {
			write(t, m, "config/lease", map[string]interface{}{"ttl": tc.ttl, "max_ttl": tc.maxTTL})
			resp := mustHandle(t, m, opRead, "config/lease", nil)
			if resp == nil {
				t.Fatal("read config/lease: no response after a write")
			}
			checkInt(t, resp.Data, "ttl", tc.wantTTL)
			checkInt(t, resp.Data, "max_ttl", tc.wantMx)

			entries := dumpStorage(t, m.Storage)
			if len(entries) == 0 {
				t.Fatal("the host's storage is empty after the write: the plugin did not store through the brokered pb.Storage")
			}
			found := false
			for _, v := range entries {
				if strings.Contains(v, fmt.Sprint(tc.wantTTL)) {
					found = true
				}
			}
			if !found {
				t.Errorf("no entry in the host's storage mentions ttl %d: %v", tc.wantTTL, entries)
			}
		})
	}

	t.Run("config/lease delete", func(t *testing.T) {
		before := len(dumpStorage(t, m.Storage))
		mustHandle(t, m, opDelete, "config/lease", nil)
		resp, err := handle(t, m, opRead, "config/lease", nil)
		if err != nil {
			t.Fatalf("read after delete: %v", err)
		}
		if resp != nil && (resp.Data["ttl"] != nil || resp.Data["max_ttl"] != nil) && !isZero(resp.Data["ttl"]) {
			t.Errorf("read after delete still returns %v", resp.Data)
		}
		if after := len(dumpStorage(t, m.Storage)); after >= before {
			t.Errorf("delete left the host's storage at %d entries (was %d)", after, before)
		}
	})

	t.Run("config/access never returns the token", func(t *testing.T) {
		const secret = "s3cr3t-nomad-token-conformance"
		write(t, m, "config/access", map[string]interface{}{"address": "http://127.0.0.1:4646", "token": secret})
		resp := mustHandle(t, m, opRead, "config/access", nil)
		if resp == nil {
			t.Fatal("read config/access: no response after a write")
		}
		if resp.Data["address"] != "http://127.0.0.1:4646" {
			t.Errorf("config/access address = %v, want http://127.0.0.1:4646", resp.Data["address"])
		}
		if _, ok := resp.Data["token"]; ok {
			t.Errorf("read config/access returned the token: %v", resp.Data)
		}
		stored := false
		for _, v := range dumpStorage(t, m.Storage) {
			if strings.Contains(v, secret) {
				stored = true
			}
		}
		if !stored {
			t.Errorf("the token is not in the host's storage")
		}
	})
}

// TestExistenceCheck drives HandleExistenceCheck the way Vault's request
// handling does before every update.
func TestExistenceCheck(t *testing.T) {
	logger, _ := newTestLogger(t)
	c := newCatalog(t, logger)
	m := newMount(t, c, logger, nil)
	const role = "conformance-role"
	rolePath := "role/" + role

	checkExists := func(t *testing.T, wantExists bool) {
		t.Helper()
		found, exists, err := m.HandleExistenceCheck(ctxFor(t), m.Request(opUpdate, rolePath, nil))
		if err != nil {
			t.Fatalf("HandleExistenceCheck(%s): %v", rolePath, err)
		}
		if !found {
			t.Fatalf("HandleExistenceCheck(%s): check_found=false, want true (role paths have an existence check)", rolePath)
		}
		if exists != wantExists {
			t.Fatalf("HandleExistenceCheck(%s): exists=%v, want %v", rolePath, exists, wantExists)
		}
	}

	t.Run("absent role", func(t *testing.T) { checkExists(t, false) })

	t.Run("create then exists", func(t *testing.T) {
		// found && !exists → Vault sends "create".
		mustHandle(t, m, opCreate, rolePath, map[string]interface{}{"policies": "readonly", "type": "client"})
		checkExists(t, true)
		resp := mustHandle(t, m, opRead, rolePath, nil)
		if resp == nil {
			t.Fatal("read role: no response")
		}
		if !contains(toStrings(resp.Data["policies"]), "readonly") {
			t.Errorf("role policies = %v, want [readonly]", resp.Data["policies"])
		}
		if resp.Data["type"] != "client" {
			t.Errorf("role type = %v, want client", resp.Data["type"])
		}
		list := mustHandle(t, m, opList, "role/", nil)
		if list == nil || !contains(toStrings(list.Data["keys"]), role) {
			t.Errorf("list role/ = %v, want keys containing %q", list, role)
		}
		// An update of an existing role stays an update.
		write(t, m, rolePath, map[string]interface{}{"policies": "readonly,ops", "type": "client"})
		resp = mustHandle(t, m, opRead, rolePath, nil)
		if got := toStrings(resp.Data["policies"]); !contains(got, "ops") {
			t.Errorf("after update, role policies = %v, want readonly and ops", got)
		}
	})

	errCases := []struct {
		name    string
		exist   bool // existence check instead of request
		op      Operation
		path    string
		wantErr error
	}{
		{"existence check on unknown path", true, opUpdate, "no/such/path", errUnsupportedPath},
		{"read of unknown path", false, opRead, "no/such/path", errUnsupportedPath},
		{"write of unknown path", false, opUpdate, "no/such/path", errUnsupportedPath},
		{"list on config/lease", false, opList, "config/lease", errUnsupportedOperation},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.exist {
				var found, exists bool
				found, exists, err = m.HandleExistenceCheck(ctxFor(t), m.Request(tc.op, tc.path, nil))
				if err == nil {
					t.Fatalf("got check_found=%v exists=%v, want error %q", found, exists, tc.wantErr)
				}
			} else {
				var resp *Response
				resp, err = handle(t, m, tc.op, tc.path, nil)
				if err == nil {
					t.Fatalf("got response %#v, want error %q", resp, tc.wantErr)
				}
			}
			if err != tc.wantErr {
				t.Fatalf("error = %q (%T), want the SDK's sentinel %q", err, err, tc.wantErr)
			}
		})
	}
}

// TestMultiplexing mounts twice; the plugin says it multiplexes, so both
// mounts share one process and are told apart only by multiplex_id.
func TestMultiplexing(t *testing.T) {
	logger, log := newTestLogger(t)
	c := newCatalog(t, logger)
	a := newMount(t, c, logger, nil)
	b := newMount(t, c, logger, nil)

	if !a.Client().Proc().Multiplexed {
		t.Fatal("MultiplexingSupport did not report supported=true")
	}
	if c.ProcessCount() != 1 || a.Client().Proc() != b.Client().Proc() {
		t.Fatalf("%d plugin processes started for two mounts, want 1", c.ProcessCount())
	}
	if a.Client().ID() == b.Client().ID() {
		t.Fatal("both mounts got the same multiplex_id")
	}

	write(t, a, "config/lease", map[string]interface{}{"ttl": "1h", "max_ttl": "2h"})
	write(t, a, "role/only-in-a", map[string]interface{}{"policies": "readonly", "type": "client"})

	resp, err := handle(t, b, opRead, "config/lease", nil)
	if err != nil {
		t.Fatalf("mount B read config/lease: %v", err)
	}
	if resp != nil {
		if v, ok := asInt64(resp.Data["ttl"]); ok && v == 3600 {
			t.Fatalf("mount B sees mount A's config/lease: %v", resp.Data)
		}
	}
	if got := dumpStorage(t, b.Storage); len(got) != 0 {
		t.Fatalf("mount B's storage holds %v after writes to mount A only", got)
	}
	if list, err := handle(t, b, opList, "role/", nil); err == nil && list != nil && contains(toStrings(list.Data["keys"]), "only-in-a") {
		t.Fatalf("mount B lists mount A's role: %v", list.Data)
	}

	write(t, b, "config/lease", map[string]interface{}{"ttl": "5m", "max_ttl": "10m"})
	checkInt(t, mustHandle(t, a, opRead, "config/lease", nil).Data, "ttl", 3600)
	checkInt(t, mustHandle(t, b, opRead, "config/lease", nil).Data, "ttl", 300)

	// A multiplex_id the plugin was never given in Setup must be refused,
	// not silently mapped onto another mount.
	stray := dispense(t, c, logger)
	if stray.Client().Proc() != a.Client().Proc() {
		t.Fatal("a third client did not join the multiplexed process")
	}
	if resp, err := handle(t, stray, opRead, "config/lease", nil); err == nil {
		t.Errorf("request with an unknown multiplex_id succeeded: %#v", resp)
	}
	cleanup(t, stray, context.Background())

	// Cleaning up one mount leaves the other working in the same process.
	cleanup(t, a, context.Background())
	if a.Client().Proc().Exited() {
		t.Fatal("the process exited when only one of two mounts was cleaned up")
	}
	checkInt(t, mustHandle(t, b, opRead, "config/lease", nil).Data, "ttl", 300)
	cleanup(t, b, context.Background())
	assertGracefulExit(t, b.Client().Proc(), log)
}

// TestReload mirrors `vault plugin reload`: Cleanup with the reload context,
// kill the process, start a new one on the same storage.
func TestReload(t *testing.T) {
	logger, log := newTestLogger(t)
	c := newCatalog(t, logger)
	storage := &InmemStorage{}
	m1 := newMount(t, c, logger, storage)
	write(t, m1, "config/lease", map[string]interface{}{"ttl": "1h", "max_ttl": "2h"})
	write(t, m1, "role/survivor", map[string]interface{}{"policies": "readonly", "type": "client"})
	p1 := m1.Client().Proc()

	reloadCtx := context.WithValue(context.Background(), hostkit.ContextKeyPluginReload, "reload")
	cleanup(t, m1, reloadCtx)
	assertGracefulExit(t, p1, log)

	m2 := newMount(t, c, logger, storage)
	if c.ProcessCount() != 2 || m2.Client().Proc() == p1 {
		t.Fatalf("no new process after reload (%d started)", c.ProcessCount())
	}
	if m2.Client().Proc().Pid != 0 && m2.Client().Proc().Pid == p1.Pid {
		t.Fatalf("new process has the old pid %d", p1.Pid)
	}
	resp := mustHandle(t, m2, opRead, "config/lease", nil)
	if resp == nil {
		t.Fatal("config/lease lost across reload")
	}
	checkInt(t, resp.Data, "ttl", 3600)
	checkInt(t, resp.Data, "max_ttl", 7200)
	role := mustHandle(t, m2, opRead, "role/survivor", nil)
	if role == nil || !contains(toStrings(role.Data["policies"]), "readonly") {
		t.Fatalf("role/survivor lost across reload: %v", role)
	}
	write(t, m2, "config/lease", map[string]interface{}{"ttl": "30m", "max_ttl": "1h"})
	checkInt(t, mustHandle(t, m2, opRead, "config/lease", nil).Data, "ttl", 1800)
}

// TestRootHelpOpenAPI: `sys/internal/specs/openapi` asks every mount for
// help on "" and decodes data.openapi with framework.NewOASDocumentFromMap.
func TestRootHelpOpenAPI(t *testing.T) {
	logger, _ := newTestLogger(t)
	c := newCatalog(t, logger)
	m := newMount(t, c, logger, nil)

	resp := mustHandle(t, m, opHelp, "", map[string]interface{}{"requestResponsePrefix": "nomad"})
	if resp == nil {
		t.Fatal("root help returned no response (Vault's OpenAPI handler would crash)")
	}
	help, ok := resp.Data["help"].(string)
	if !ok || help == "" {
		t.Errorf("root help: data.help = %#v, want a non-empty string", resp.Data["help"])
	}
	raw, ok := resp.Data["openapi"].(map[string]interface{})
	if !ok {
		t.Fatalf("root help: data.openapi = %T, want an object", resp.Data["openapi"])
	}
	doc, err := hostkit.NewOASDocumentFromMap(raw)
	if err != nil {
		t.Fatalf("framework.NewOASDocumentFromMap: %v", err)
	}
	if doc.Info.Version != vaultVersion {
		t.Errorf("openapi info.version = %q, want %q (SystemView.PluginEnv().vault_version over the broker)", doc.Info.Version, vaultVersion)
	}
	var paths []string
	for p := range doc.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, want := range []string{"/config/lease", "/config/access", "/role/", "/creds/"} {
		ok := false
		for _, p := range paths {
			if p == want || (strings.HasSuffix(want, "/") && strings.HasPrefix(p, want) && len(p) > len(want)) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("openapi paths %q: nothing for %q", paths, want)
		}
	}
}

// ---------------------------------------------------------------------------
// helpers

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func toStrings(v interface{}) []string {
	switch x := v.(type) {
	case []string:
		return x
	case []interface{}:
		out := make([]string, 0, len(x))
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	case string:
		return []string{x}
	}
	return nil
}

func isZero(v interface{}) bool {
	i, ok := asInt64(v)
	return v == nil || (ok && i == 0)
}

func checkInt(t *testing.T, data map[string]interface{}, key string, want int64) {
	t.Helper()
	got, ok := asInt64(data[key])
	if !ok {
		t.Errorf("data[%q] = %#v (%T), want the integer %d", key, data[key], data[key], want)
		return
	}
	if got != want {
		t.Errorf("data[%q] = %d, want %d", key, got, want)
	}
}

// dumpStorage lists every key in the host's storage with its value.
func dumpStorage(t *testing.T, s *InmemStorage) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out := map[string]string{}
	var walk func(prefix string)
	walk = func(prefix string) {
		keys, err := s.List(ctx, prefix)
		if err != nil {
			t.Fatalf("listing host storage %q: %v", prefix, err)
		}
		for _, k := range keys {
			if strings.HasSuffix(k, "/") {
				walk(prefix + k)
				continue
			}
			e, err := s.Get(ctx, prefix+k)
			if err != nil {
				t.Fatalf("reading host storage %q: %v", prefix+k, err)
			}
			if e != nil {
				out[prefix+k] = string(e.Value)
			}
		}
	}
	walk("")
	return out
}
