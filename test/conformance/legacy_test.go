package conformance

// Vault's legacy plugin flow (protocol 3/4; Vault < 1.12, and Vault's
// fallback when the v5 start fails): a metadata-mode run in plaintext, then
// the real run whose TLS certificate the plugin unwraps from a single-use
// response-wrapping JWT (reference §5.2–5.4).

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/nomad-plugin/conformance/hostkit"
)

const metadataModeRefusal = "plugin server can not perform action while in metadata mode"

func startLegacy(t *testing.T, c *hostkit.Catalog, metadataMode bool) *hostkit.LegacyPlugin {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	lp, err := hostkit.StartLegacy(ctx, c, c.Logger, metadataMode)
	if err != nil {
		t.Fatalf("legacy start (metadata mode %v): %v", metadataMode, err)
	}
	t.Cleanup(lp.Client.Kill)
	if v := lp.Client.NegotiatedVersion(); v != 4 {
		t.Errorf("negotiated protocol %d, want 4 (the host offered 3 and 4)", v)
	}
	return lp
}

// stopLegacy kills the process the way go-plugin does (Shutdown, 2 s, kill)
// and checks it left on its own.
func stopLegacy(t *testing.T, lp *hostkit.LegacyPlugin, log *hostkit.Log) {
	t.Helper()
	start := time.Now()
	lp.Client.Kill()
	if took := time.Since(start); took >= 2*time.Second || len(log.Find("plugin failed to exit gracefully")) > 0 {
		t.Errorf("legacy plugin did not exit within 2 s of GRPCController.Shutdown (took %v)", took)
	}
}

func legacyBackendConfig(storage *InmemStorage, logger hclog.Logger) *hostkit.BackendConfig {
	return &hostkit.BackendConfig{
		StorageView: storage,
		Logger:      logger,
		System:      hostkit.NewSystemView(),
		Config:      hostkit.MountConfig(),
	}
}

func TestLegacyProtocol4(t *testing.T) {
	want := expectedPluginVersion(t)
	var metaType uint32
	var metaSeal []string

	t.Run("metadata mode", func(t *testing.T) {
		logger, log := newTestLogger(t)
		c := newCatalog(t, logger)
		lp := startLegacy(t, c, true)
		b := lp.Backend
		cfg := legacyBackendConfig(&InmemStorage{}, logger)
		if err := b.Setup(ctxFor(t), cfg); err != nil {
			t.Fatalf("Setup: %v", err)
		}
		within(t, callTimeout, "Type", func() {
			if got := b.Type(); got != typeLogic {
				raw, err := hostkit.RawBackendType(ctxFor(t), lp.Conn)
				t.Errorf("Type() = %v, want TypeLogical; raw %d, %v", got, raw, err)
			}
			metaType = uint32(b.Type())
		})
		within(t, callTimeout, "SpecialPaths", func() {
			p := b.SpecialPaths()
			if p == nil || !contains(p.SealWrapStorage, "config/access") {
				t.Errorf("SpecialPaths() = %#v, want seal_wrap_storage with config/access", p)
				return
			}
			metaSeal = p.SealWrapStorage
		})
		within(t, callTimeout, "PluginVersion", func() {
			v, ok := b.(hostkit.PluginVersioner)
			if !ok {
				t.Errorf("%T is not a PluginVersioner", b)
				return
			}
			if got := v.PluginVersion().Version; got != want && got != "v"+want {
				t.Errorf("PluginVersion = %q, want %q", got, want)
			}
		})
		// The SDK's client refuses these itself in metadata mode; ask the
		// plugin directly, as a host that did not would.
		refusals := []struct {
			name string
			call func() (string, error)
		}{
			{"HandleRequest", func() (string, error) { return hostkit.RawHandleRequest(ctxFor(t), lp.Conn, "config/lease") }},
			{"HandleExistenceCheck", func() (string, error) { return hostkit.RawHandleExistenceCheck(ctxFor(t), lp.Conn, "role/x") }},
			{"Initialize", func() (string, error) { return hostkit.RawInitialize(ctxFor(t), lp.Conn) }},
		}
		for _, r := range refusals {
			replyErr, err := r.call()
			switch {
			case err == nil && replyErr == "":
				t.Errorf("%s in metadata mode succeeded; want the refusal %q", r.name, metadataModeRefusal)
			case err == nil:
				t.Errorf("%s in metadata mode: refused in the reply's err (%q), Go plugins return a gRPC error %q", r.name, replyErr, metadataModeRefusal)
			default:
				st := status.Convert(err)
				if st.Message() != metadataModeRefusal || st.Code() != codes.Unknown {
					t.Errorf("%s in metadata mode: %v; want code Unknown, message %q", r.name, err, metadataModeRefusal)
				}
			}
		}
		if !hostkit.Within(10*time.Second, func() { b.Cleanup(ctxFor(t)) }) {
			t.Fatalf("Cleanup did not return within 10 s")
		}
		stopLegacy(t, lp, log)
	})

	realRun := func(t *testing.T, useTLS bool) {
		logger, log := newTestLogger(t)
		us, err := hostkit.NewUnwrapServer(useTLS)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(us.Close)
		var args []string
		if useTLS {
			// What an operator puts in the catalog entry for an HTTPS api_addr.
			args = []string{"-ca-cert=" + us.CAFile}
		}
		c := newCatalog(t, logger, args...)
		c.Wrapper = us
		lp := startLegacy(t, c, false)

		toks := us.Tokens()
		if len(toks) != 1 {
			t.Fatalf("RunConfig asked ResponseWrapData %d times, want 1", len(toks))
		}
		token := toks[0]
		header, claims, err := hostkit.JWTClaims(token)
		if err != nil || header["alg"] != "ES512" || header["typ"] != "JWT" || claims["addr"] != us.URL {
			t.Fatalf("wrapping token: header %v claims %v err %v", header, claims, err)
		}
		attempts := us.Attempts()
		if len(attempts) != 1 {
			t.Fatalf("the plugin made %d unwrap requests, want 1: %+v", len(attempts), attempts)
		}
		a := attempts[0]
		if a.Method != http.MethodPut || a.Path != "/v1/sys/wrapping/unwrap" || a.TokenHeader != token || strings.TrimSpace(a.Body) != "null" || a.Status != 200 {
			t.Errorf("unwrap request: %s %s X-Vault-Token match=%v body %q → %d; want PUT /v1/sys/wrapping/unwrap, the JWT, body null, 200",
				a.Method, a.Path, a.TokenHeader == token, a.Body, a.Status)
		}
		// Single use: a second unwrap of the same token fails.
		if st := unwrapAgain(t, us, token); st == http.StatusOK {
			t.Errorf("a second unwrap of the same token succeeded")
		}

		b := lp.Backend
		storage := &InmemStorage{}
		cfg := legacyBackendConfig(storage, logger)
		if err := b.Setup(ctxFor(t), cfg); err != nil {
			t.Fatalf("Setup over the legacy TLS: %v", err)
		}
		// Vault compares the real run with the metadata run.
		within(t, callTimeout, "Type/SpecialPaths", func() {
			if metaType != 0 && uint32(b.Type()) != metaType {
				t.Errorf("mismatch on mounted backend and plugin backend type: %v vs %d", b.Type(), metaType)
			}
			if p := b.SpecialPaths(); p == nil || (metaSeal != nil && strings.Join(p.SealWrapStorage, ",") != strings.Join(metaSeal, ",")) {
				t.Errorf("mismatch on mounted backend and plugin backend special paths: %#v vs %v", p, metaSeal)
			}
		})
		if err := b.Initialize(ctxFor(t), nil); err != nil {
			t.Fatalf("Initialize: %v", err)
		}
		req := &Request{ID: hostkit.NewMultiplexID(), Operation: opUpdate, Path: "config/lease", Data: map[string]interface{}{"ttl": "1h", "max_ttl": "2h"}, Storage: storage}
		found, exists, err := b.HandleExistenceCheck(ctxFor(t), req)
		if err != nil {
			t.Fatalf("existence check config/lease: %v", err)
		}
		if found && !exists {
			req.Operation = opCreate
		}
		if resp, err := b.HandleRequest(ctxFor(t), req); err != nil || (resp != nil && resp.IsError()) {
			t.Fatalf("write config/lease: %v %#v", err, resp)
		}
		resp, err := b.HandleRequest(ctxFor(t), &Request{ID: hostkit.NewMultiplexID(), Operation: opRead, Path: "config/lease", Storage: storage})
		if err != nil || resp == nil {
			t.Fatalf("read config/lease: %v %#v", err, resp)
		}
		checkInt(t, resp.Data, "ttl", 3600)
		checkInt(t, resp.Data, "max_ttl", 7200)
		if len(dumpStorage(t, storage)) == 0 {
			t.Errorf("the host's storage is empty: the plugin did not store through the brokered, TLS'd pb.Storage")
		}
		if !hostkit.Within(10*time.Second, func() { b.Cleanup(ctxFor(t)) }) {
			t.Fatalf("Cleanup did not return within 10 s")
		}
		stopLegacy(t, lp, log)
	}
	t.Run("real run, unwrap over http", func(t *testing.T) { realRun(t, false) })
	t.Run("real run, unwrap over https with -ca-cert", func(t *testing.T) { realRun(t, true) })

	// A token that cannot be unwrapped: the plugin must exit non-zero,
	// print nothing on stdout, and say why on stderr without the token.
	badCases := []struct {
		name      string
		tls       bool
		caArg     bool
		prepare   func(us *hostkit.UnwrapServer, token string)
		ttl       time.Duration
		wantCause []string // one of these must appear (case-insensitive)
	}{
		{"token already used", false, false, func(us *hostkit.UnwrapServer, tok string) { us.MarkUsed(tok) }, time.Minute,
			[]string{"used", "not valid"}},
		{"token expired", false, false, nil, -time.Minute, []string{"expired", "not valid"}},
		{"https api_addr not trusted (no -ca-cert)", true, false, nil, time.Minute, []string{"certificate", "tls"}},
	}
	for _, tc := range badCases {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			bin, _ := requireBinary(t)
			us, err := hostkit.NewUnwrapServer(tc.tls)
			if err != nil {
				t.Fatal(err)
			}
			defer us.Close()
			tok, _, err := us.Wrap(map[string]interface{}{"ServerCert": []byte("x"), "ServerKey": []byte("y")}, tc.ttl)
			if err != nil {
				t.Fatal(err)
			}
			if tc.prepare != nil {
				tc.prepare(us, tok)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var args []string
			if tc.caArg {
				args = append(args, "-ca-cert="+us.CAFile)
			}
			cmd := exec.CommandContext(ctx, bin, args...)
			cmd.Env = append(append(baseEnv(), "VAULT_BACKEND_PLUGIN=6669da05-b1c8-4f49-97d9-c8e5bed98e20"), legacyEnv(tok)...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err = cmd.Run()
			if ctx.Err() != nil {
				t.Fatalf("the plugin did not exit within 30 s")
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() == 0 {
				t.Errorf("exit: %v, want a non-zero exit status", err)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout must stay empty (no handshake), got %q", stdout.String())
			}
			text := stderr.String()
			t.Logf("stderr: %s", strings.TrimSpace(text))
			lower := strings.ToLower(text)
			named := false
			for _, c := range tc.wantCause {
				if strings.Contains(lower, c) {
					named = true
				}
			}
			if !named || !strings.Contains(lower, "unwrap") {
				t.Errorf("stderr does not name the cause (want \"unwrap\" and one of %q): %q", tc.wantCause, text)
			}
			parts := strings.Split(tok, ".")
			for i, secret := range []string{tok, parts[1], parts[2]} {
				if strings.Contains(text, secret) {
					t.Errorf("stderr contains the wrapping token (part %d)", i)
				}
			}
			if len(us.Attempts()) == 0 && !tc.tls {
				t.Errorf("the plugin never asked the unwrap endpoint")
			}
		})
	}
}

func unwrapAgain(t *testing.T, us *hostkit.UnwrapServer, token string) int {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	if us.CAFile != "" {
		client.Transport = &http.Transport{TLSClientConfig: insecureTLS()}
	}
	req, err := http.NewRequest(http.MethodPut, us.URL+"/v1/sys/wrapping/unwrap", strings.NewReader("null"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Vault-Token", token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("second unwrap: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// legacyEnv is what RunConfig sets for a legacy real run (AutoMTLS off, not
// metadata mode), minus the cookie; OpenBao sets every variable twice.
func legacyEnv(token string) []string {
	env := []string{
		"PLUGIN_MIN_PORT=10000",
		"PLUGIN_MAX_PORT=25000",
		"PLUGIN_PROTOCOL_VERSIONS=4,3",
		"VAULT_VERSION=" + vaultVersion,
		"VAULT_PLUGIN_METADATA_MODE=false",
		"VAULT_PLUGIN_AUTOMTLS_ENABLED=false",
		"VAULT_UNWRAP_TOKEN=" + token,
	}
	if hostkit.SDKName == "openbao" {
		for _, kv := range env[3:] {
			env = append(env, "BAO_"+strings.TrimPrefix(kv, "VAULT_"))
		}
	}
	return env
}
