package conformance

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nomad-plugin/conformance/hostkit"
)

// startFake runs the Nomad ACL fake as its own process for the test; its
// stderr goes to the test log.
func startFake(t *testing.T, opts hostkit.NomadFakeOptions) *hostkit.NomadFake {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if opts.Stderr == nil {
		opts.Stderr = testWriter{t}
	}
	f, err := hostkit.StartNomadFake(ctx, opts)
	if err != nil {
		t.Fatalf("Nomad fake: %v", err)
	}
	t.Cleanup(f.Stop)
	return f
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("nomad fake: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// configureNomad points the mount at the fake and creates the roles the
// tests use: admin (management) and dispatch (policies=dispatch, ttl=15m).
func configureNomad(t *testing.T, m *hostkit.Mount, fake *hostkit.NomadFake) {
	t.Helper()
	write(t, m, "config/access", map[string]interface{}{"address": fake.URL, "token": fake.ManagementToken})
	write(t, m, "role/admin", map[string]interface{}{"type": "management"})
	write(t, m, "role/dispatch", map[string]interface{}{"policies": "dispatch", "ttl": "15m"})
}

// issue reads creds/<role> and registers the lease as Vault would.
func issue(t *testing.T, m *hostkit.Mount, role string) (*Response, *hostkit.Lease) {
	t.Helper()
	req := m.Request(opRead, "creds/"+role, nil)
	resp, err := m.HandleRequest(ctxFor(t), req)
	if err != nil {
		t.Fatalf("read creds/%s: %v", role, err)
	}
	if resp == nil || resp.IsError() {
		t.Fatalf("read creds/%s: response %#v", role, resp)
	}
	if resp.Secret == nil {
		t.Fatalf("read creds/%s: no secret in the response (data %v)", role, resp.Data)
	}
	lease, err := m.Expiration().Register(req, resp)
	if err != nil {
		t.Fatalf("registering the lease of creds/%s: %v", role, err)
	}
	return resp, lease
}

func accessorOf(t *testing.T, l *hostkit.Lease) string {
	t.Helper()
	if l.Secret == nil {
		t.Fatalf("lease %s has no secret", l.LeaseID)
	}
	a, _ := l.Secret.InternalData["accessor_id"].(string)
	if a == "" {
		t.Fatalf("lease %s: internal_data.accessor_id = %#v", l.LeaseID, l.Secret.InternalData["accessor_id"])
	}
	return a
}

// assertNoOrphans: the fake holds exactly one vault-* token per live lease
// of the given mounts, and each live lease's token exists.
func assertNoOrphans(t *testing.T, fake *hostkit.NomadFake, mounts ...*hostkit.Mount) {
	t.Helper()
	toks, err := fake.VaultTokens()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, tok := range toks {
		have[tok.AccessorID] = true
	}
	live := 0
	for _, m := range mounts {
		for _, id := range m.Expiration().Live() {
			l, err := m.Expiration().Load(id)
			if err != nil || l == nil {
				t.Fatalf("loading lease %s: %v", id, err)
			}
			live++
			if a := accessorOf(t, l); !have[a] {
				t.Errorf("live lease %s: its token %s is not in Nomad", id, a)
			}
		}
	}
	if len(toks) != live {
		var names []string
		for _, tok := range toks {
			names = append(names, tok.Name+" ("+tok.AccessorID+")")
		}
		t.Errorf("Nomad holds %d vault-* tokens for %d live leases (orphans): %s", len(toks), live, strings.Join(names, ", "))
	}
}
