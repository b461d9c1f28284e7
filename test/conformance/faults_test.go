package conformance

// Faults around the plugin: Nomad down, failing, rate limiting or slow; the
// plugin process killed; its brokered connection to the host dropped; the
// host shutting it down mid-request. Each case checks the error is clear, the
// time bounded, and that afterwards Nomad holds exactly one vault-* token
// per live lease (no orphans).

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	hclog "github.com/hashicorp/go-hclog"

	"github.com/nomad-plugin/conformance/hostkit"
)

// The plugin's Nomad client gives up on a request after 30 s (not
// configurable from the host; src/nomad-client/config.ts).
const nomadClientTimeout = 30 * time.Second

type faultEnv struct {
	logger hclog.Logger
	log    *hostkit.Log
	fake   *hostkit.NomadFake
	c      *hostkit.Catalog
	m      *hostkit.Mount
}

func newFaultEnv(t *testing.T) *faultEnv {
	t.Helper()
	logger, log := newTestLogger(t)
	fake := startFake(t, hostkit.NomadFakeOptions{})
	c := newCatalog(t, logger)
	m := newMount(t, c, logger, nil)
	configureNomad(t, m, fake)
	return &faultEnv{logger: logger, log: log, fake: fake, c: c, m: m}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// requestError is the failure as Vault would see it: a Go error or an error
// response.
func requestError(resp *Response, err error) error {
	if err != nil {
		return err
	}
	if resp != nil && resp.IsError() {
		return resp.Error()
	}
	return nil
}

// waitFor polls cond every 20 ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}

func tokenCreates(t *testing.T, f *hostkit.NomadFake) int {
	n, err := f.RequestCount("PUT", "/v1/acl/token")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// slowCase is "Nomad slower than the client's timeout during creds": it has
// to wait out the plugin's 30 s Nomad timeout, so it runs in the background
// while the other cases run, and is checked last.
type slowCase struct {
	env     *faultEnv
	started time.Time
	latency time.Duration
	done    chan struct{}
	resp    *Response
	err     error
	took    time.Duration
}

func startSlowCase(t *testing.T) *slowCase {
	if os.Getenv("CONFORMANCE_SKIP_SLOW") != "" {
		return nil
	}
	env := newFaultEnv(t)
	s := &slowCase{env: env, latency: nomadClientTimeout + 2*time.Second, done: make(chan struct{})}
	must(t, env.fake.SetLatency(s.latency, hostkit.Fault{Method: "PUT", Path: "/v1/acl/token"}))
	s.started = time.Now()
	go func() {
		defer close(s.done)
		ctx, cancel := context.WithTimeout(context.Background(), nomadClientTimeout+30*time.Second)
		defer cancel()
		s.resp, s.err = env.m.Handle(ctx, opRead, "creds/dispatch", nil)
		s.took = time.Since(s.started)
	}()
	return s
}

func (s *slowCase) check(t *testing.T) {
	select {
	case <-s.done:
	case <-time.After(nomadClientTimeout + 35*time.Second):
		t.Fatalf("creds against a Nomad that never answers did not return within %v", nomadClientTimeout+35*time.Second)
	}
	err := requestError(s.resp, s.err)
	if err == nil {
		t.Fatalf("creds succeeded although Nomad answered only after %v", s.latency)
	}
	t.Logf("error after %v: %v", s.took.Round(time.Millisecond), err)
	if s.took < nomadClientTimeout-time.Second || s.took > nomadClientTimeout+10*time.Second {
		t.Errorf("creds failed after %v; want about the client timeout (%v)", s.took, nomadClientTimeout)
	}
	if msg := err.Error(); !strings.Contains(msg, s.env.fake.URL) || !strings.Contains(msg, "no answer") {
		t.Errorf("error does not name the Nomad address %s and the timeout: %q", s.env.fake.URL, msg)
	}
	// Let the fake finish the delayed request (it drops it: the plugin
	// closed the connection), then nothing may be left behind.
	if wait := time.Until(s.started.Add(s.latency + 500*time.Millisecond)); wait > 0 {
		time.Sleep(wait)
	}
	assertNoOrphans(t, s.env.fake, s.env.m)
	must(t, s.env.fake.ClearFaults())
	issue(t, s.env.m, "dispatch")
	assertNoOrphans(t, s.env.fake, s.env.m)
}

func TestFaults(t *testing.T) {
	slow := startSlowCase(t)

	t.Run("Nomad down during creds", func(t *testing.T) {
		e := newFaultEnv(t)
		_, kept := issue(t, e.m, "dispatch")
		must(t, e.fake.GoDown())
		start := time.Now()
		resp, err := handle(t, e.m, opRead, "creds/dispatch", nil)
		took := time.Since(start)
		ferr := requestError(resp, err)
		if ferr == nil {
			t.Fatalf("creds succeeded with Nomad down: %v", resp.Data)
		}
		t.Logf("error after %v: %v", took.Round(time.Millisecond), ferr)
		if !strings.Contains(ferr.Error(), e.fake.URL) {
			t.Errorf("error does not name the Nomad address %s: %q", e.fake.URL, ferr)
		}
		if strings.Contains(ferr.Error(), e.fake.ManagementToken) {
			t.Errorf("error contains the management token")
		}
		if took > 10*time.Second {
			t.Errorf("creds took %v to fail with Nomad down", took)
		}
		must(t, e.fake.ComeBack())
		assertNoOrphans(t, e.fake, e.m)
		issue(t, e.m, "dispatch")
		must(t, e.m.Expiration().Revoke(ctxFor(t), kept.LeaseID))
		assertNoOrphans(t, e.fake, e.m)
	})

	// A create whose outcome is unknown is retried only after a look-up by the
	// token's unique name; a token the failed attempt made is handed out
	// instead of a second one, so every token has exactly one lease.
	adoptsOrRetries := func(t *testing.T, fault func(e *faultEnv) error, wantCreates int) {
		e := newFaultEnv(t)
		must(t, fault(e))
		_, l := issue(t, e.m, "dispatch")
		accessor := accessorOf(t, l)
		if n := tokenCreates(t, e.fake); n != wantCreates {
			t.Errorf("%d token creates sent, want %d", n, wantCreates)
		}
		assertNoOrphans(t, e.fake, e.m)
		must(t, e.m.Expiration().Revoke(ctxFor(t), l.LeaseID))
		toks, err := e.fake.VaultTokens()
		must(t, err)
		for _, tok := range toks {
			if tok.AccessorID == accessor {
				t.Errorf("token %s still in Nomad after its lease was revoked", accessor)
			}
		}
		assertNoOrphans(t, e.fake, e.m)
	}
	t.Run("creds answer lost after Nomad created the token: that token is handed out", func(t *testing.T) {
		adoptsOrRetries(t, func(e *faultEnv) error {
			return e.fake.DropNext(hostkit.Fault{Method: "PUT", Path: "/v1/acl/token", AfterProcessing: true})
		}, 1)
	})
	t.Run("creds when Nomad made the token but answered 500: that token is handed out", func(t *testing.T) {
		adoptsOrRetries(t, func(e *faultEnv) error {
			return e.fake.FailNext(hostkit.Fault{Method: "PUT", Path: "/v1/acl/token", Status: 500,
				Body: "timed out enqueuing operation", AfterProcessing: true})
		}, 1)
	})
	t.Run("creds through a Nomad leader election: 'No cluster leader' is retried", func(t *testing.T) {
		adoptsOrRetries(t, func(e *faultEnv) error {
			return e.fake.FailNext(hostkit.Fault{Method: "PUT", Path: "/v1/acl/token", Status: 500,
				Body: "No cluster leader", Times: 2})
		}, 3)
	})
	t.Run("creds through a rate limiter: 429 is retried", func(t *testing.T) {
		adoptsOrRetries(t, func(e *faultEnv) error {
			return e.fake.FailNext(hostkit.Fault{Method: "PUT", Path: "/v1/acl/token", Status: 429,
				Body: "Too Many Requests", Times: 1})
		}, 2)
	})

	revokeFailsThenSucceeds := func(t *testing.T, status int, headers map[string]string, wantText string) {
		e := newFaultEnv(t)
		_, l := issue(t, e.m, "dispatch")
		accessor := accessorOf(t, l)
		must(t, e.fake.FailNext(hostkit.Fault{Method: "DELETE", Path: "/v1/acl/token/:accessor", Status: status,
			Body: fmt.Sprintf("injected %d", status), Headers: headers, Times: 100}))
		start := time.Now()
		err := e.m.Expiration().Revoke(ctxFor(t), l.LeaseID)
		took := time.Since(start)
		if err == nil {
			t.Fatalf("revoke succeeded although Nomad answered %d to every DELETE", status)
		}
		t.Logf("revoke failed after %v: %v", took.Round(time.Millisecond), err)
		if !strings.Contains(err.Error(), wantText) {
			t.Errorf("revoke error does not say %q: %v", wantText, err)
		}
		if took > 15*time.Second {
			t.Errorf("revoke took %v to fail", took)
		}
		if tok, _ := e.fake.NomadToken(accessor); tok == nil {
			t.Fatalf("the token is gone although the revoke failed")
		}
		if len(e.m.Expiration().Live()) != 1 {
			t.Fatalf("a failed revoke must keep the lease (Vault retries it)")
		}
		assertNoOrphans(t, e.fake, e.m)
		// Nomad recovers; Vault's retry succeeds.
		must(t, e.fake.ClearFaults())
		if err := e.m.Expiration().Revoke(ctxFor(t), l.LeaseID); err != nil {
			t.Fatalf("revoke retry after Nomad recovered: %v", err)
		}
		if tok, _ := e.fake.NomadToken(accessor); tok != nil {
			t.Errorf("token still in Nomad after the successful retry")
		}
		// A single transient failure is absorbed by the plugin's own retry.
		_, l2 := issue(t, e.m, "dispatch")
		must(t, e.fake.FailNext(hostkit.Fault{Method: "DELETE", Path: "/v1/acl/token/:accessor", Status: status, Headers: headers, Times: 1}))
		if err := e.m.Expiration().Revoke(ctxFor(t), l2.LeaseID); err != nil {
			t.Errorf("revoke with one transient %d: %v", status, err)
		}
		assertNoOrphans(t, e.fake, e.m)
	}
	t.Run("Nomad 500 during revoke, then recovers", func(t *testing.T) {
		revokeFailsThenSucceeds(t, 500, nil, "500")
	})
	t.Run("Nomad 429 during revoke, then recovers", func(t *testing.T) {
		revokeFailsThenSucceeds(t, 429, map[string]string{"Retry-After": "1"}, "429")
	})

	t.Run("plugin SIGKILLed mid-request", func(t *testing.T) {
		e := newFaultEnv(t)
		_, before := issue(t, e.m, "dispatch")
		old := e.m.Client().Proc()
		must(t, e.fake.SetLatency(3*time.Second, hostkit.Fault{Method: "PUT", Path: "/v1/acl/token"}))
		creates := tokenCreates(t, e.fake)
		type result struct {
			resp *Response
			err  error
			took time.Duration
		}
		done := make(chan result, 1)
		req := e.m.Request(opRead, "creds/dispatch", nil)
		go func() {
			start := time.Now()
			resp, err := e.m.HandleRequest(context.Background(), req)
			done <- result{resp, err, time.Since(start)}
		}()
		if !waitFor(10*time.Second, func() bool { return tokenCreates(t, e.fake) > creates }) {
			t.Fatalf("the creds request never reached Nomad")
		}
		must(t, old.Signal(syscall.SIGKILL))
		killed := time.Now()
		var r result
		select {
		case r = <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("the in-flight request did not return within 20 s of the plugin's death")
		}
		t.Logf("in-flight request after SIGKILL (returned %v after the kill): resp=%v err=%v", time.Since(killed).Round(time.Millisecond), r.resp != nil, r.err)
		if ferr := requestError(r.resp, r.err); ferr == nil {
			// Vault's v5 wrapper saw ErrPluginShutdown, reloaded and retried:
			// a new lease Vault registers like any other.
			if _, err := e.m.Expiration().Register(req, r.resp); err != nil {
				t.Fatal(err)
			}
		}
		if !waitFor(5*time.Second, old.Exited) {
			t.Fatalf("go-plugin did not notice the killed process within 5 s")
		}
		must(t, e.fake.ClearFaults())
		// The next request reloads the plugin if that has not happened yet.
		if _, err := e.m.Handle(ctxFor(t), opRead, "role/dispatch", nil); err != nil {
			t.Fatalf("first request after the kill: %v", err)
		}
		issue(t, e.m, "dispatch")
		cur := e.m.Client().Proc()
		if cur == old || cur.Pid == old.Pid || e.c.ProcessCount() != 2 || e.m.Reloads() != 1 {
			t.Errorf("after the kill: pid %d → %d, %d processes started, %d reloads; want a new process, 2, 1", old.Pid, cur.Pid, e.c.ProcessCount(), e.m.Reloads())
		}
		// A lease issued by the killed process still revokes.
		if err := e.m.Expiration().Revoke(ctxFor(t), before.LeaseID); err != nil {
			t.Errorf("revoke of a lease issued before the kill: %v", err)
		}
		if tok, _ := e.fake.NomadToken(accessorOf(t, before)); tok != nil {
			t.Errorf("the token of the pre-kill lease is still in Nomad")
		}
		assertNoOrphans(t, e.fake, e.m)
	})

	t.Run("brokered connection dropped", func(t *testing.T) {
		e := newFaultEnv(t)
		_, l := issue(t, e.m, "dispatch")
		proc := e.m.Client().Proc()
		must(t, e.m.DropBrokeredServer())
		// Roles and config are cached in the plugin (kept right by InvalidateKey,
		// which comes over the main connection), so a role read is still answered;
		// a list always goes to storage.
		if resp, err := handle(t, e.m, opRead, "role/dispatch", nil); requestError(resp, err) != nil {
			t.Errorf("a cached role read failed without the brokered connection: %v", requestError(resp, err))
		}
		start := time.Now()
		resp, err := handle(t, e.m, opList, "role/", nil)
		took := time.Since(start)
		ferr := requestError(resp, err)
		if ferr == nil {
			t.Fatalf("a storage list succeeded without the brokered connection: %v", resp.Data)
		}
		t.Logf("request without the broker failed after %v: %v", took.Round(time.Millisecond), ferr)
		if took > 10*time.Second {
			t.Errorf("the request took %v to fail", took)
		}
		if msg := strings.ToLower(ferr.Error()); !strings.Contains(msg, "storage") && !strings.Contains(msg, "unavailable") && !strings.Contains(msg, "connect") {
			t.Errorf("the error does not say storage/the host connection failed: %q", ferr)
		}
		// A later Setup (a new mount client on the same, still running
		// process) works, with the same storage.
		m2 := newMount(t, e.c, e.logger, e.m.Storage)
		if m2.Client().Proc() != proc || proc.Exited() {
			t.Fatalf("the plugin process did not survive the dropped broker connection")
		}
		mustHandle(t, m2, opRead, "role/dispatch", nil)
		if !hostkit.Within(15*time.Second, func() { cleanup(t, e.m, context.Background()) }) {
			t.Fatalf("Cleanup of the mount whose broker connection dropped hung")
		}
		// The lease moves with the mount (Vault keeps leases per mount path).
		req := m2.Request(opRead, "creds/dispatch", nil)
		r2, err := m2.HandleRequest(ctxFor(t), req)
		if err != nil || r2 == nil || r2.Secret == nil {
			t.Fatalf("creds after re-Setup: %v %#v", err, r2)
		}
		l2, err := m2.Expiration().Register(req, r2)
		must(t, err)
		for _, lease := range []*hostkit.Lease{l, l2} {
			rreq := m2.Expiration().RevokeRequest(lease)
			if resp, err := m2.HandleRequest(ctxFor(t), rreq); requestError(resp, err) != nil {
				t.Errorf("revoke after re-Setup: %v", requestError(resp, err))
			}
		}
		if toks, _ := e.fake.VaultTokens(); len(toks) != 0 {
			t.Errorf("%d vault-* tokens left", len(toks))
		}
	})

	t.Run("Shutdown with requests in flight", func(t *testing.T) {
		e := newFaultEnv(t)
		const inflight = 3
		latency := 4 * time.Second
		must(t, e.fake.SetLatency(latency, hostkit.Fault{Method: "PUT", Path: "/v1/acl/token"}))
		creates := tokenCreates(t, e.fake)
		var wg sync.WaitGroup
		errs := make(chan error, inflight)
		for i := 0; i < inflight; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				resp, err := e.m.Handle(ctx, opRead, "creds/dispatch", nil)
				errs <- requestError(resp, err)
			}()
		}
		if !waitFor(10*time.Second, func() bool { return tokenCreates(t, e.fake) >= creates+inflight }) {
			t.Fatalf("the creds requests never reached Nomad")
		}
		sent := time.Now()
		e.m.AutoReload = false // the host is going away: no reload
		proc := e.m.Client().Proc()
		proc.Stop() // GRPCController.Shutdown, wait up to 2 s, then kill
		t.Logf("process stopped %v after Shutdown", proc.KillTook().Round(time.Millisecond))
		if proc.KillTook() >= 2*time.Second || len(e.log.Find("plugin failed to exit gracefully")) > 0 {
			t.Errorf("the plugin did not exit within 2 s of Shutdown with %d requests in flight (took %v; killed)", inflight, proc.KillTook())
		}
		if !waitFor(10*time.Second, func() bool { return len(errs) == inflight }) {
			t.Fatalf("in-flight requests did not return within 10 s of the shutdown")
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err == nil {
				t.Errorf("an in-flight creds request succeeded although the plugin was shut down")
			} else {
				t.Logf("in-flight request: %v", err)
			}
		}
		// The delayed creates arrive at Nomad after the plugin is gone.
		time.Sleep(time.Until(sent.Add(latency + 500*time.Millisecond)))
		assertNoOrphans(t, e.fake)
	})

	if slow != nil {
		t.Run("Nomad slower than the client timeout during creds", slow.check)
	}
}
