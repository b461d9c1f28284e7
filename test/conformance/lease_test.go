package conformance

// The full lease cycle through the SDK host against the Nomad fake, with the
// secrets sent back exactly as Vault's expiration manager does after storing
// them (JSON-encoded lease entry; renew: issue_time, increment, no lease_id;
// revoke: the stored secret with lease_id and issue_time).

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nomad-plugin/conformance/hostkit"
)

func TestLeaseCycle(t *testing.T) {
	logger, log := newTestLogger(t)
	fake := startFake(t, hostkit.NomadFakeOptions{})
	c := newCatalog(t, logger)
	m := newMount(t, c, logger, nil)
	configureNomad(t, m, fake)

	roles := []struct {
		name     string
		tokType  string
		policies []string
		ttl      time.Duration // lease TTL the plugin must return
	}{
		// No TTL anywhere: the mount default (TestSystemView: 24 h), which is
		// also Nomad's longest token expiration.
		{"admin", "management", nil, 24 * time.Hour},
		{"dispatch", "client", []string{"dispatch"}, 15 * time.Minute},
	}
	leases := map[string]*hostkit.Lease{}

	t.Run("creds", func(t *testing.T) {
		for _, r := range roles {
			before := time.Now()
			resp, lease := issue(t, m, r.name)
			secretID, _ := resp.Data["secret_id"].(string)
			accessor, _ := resp.Data["accessor_id"].(string)
			if secretID == "" || accessor == "" {
				t.Fatalf("creds/%s: data = %v, want secret_id and accessor_id strings", r.name, resp.Data)
			}
			s := resp.Secret
			if !s.Renewable {
				t.Errorf("creds/%s: secret not renewable", r.name)
			}
			if s.TTL != r.ttl {
				t.Errorf("creds/%s: lease TTL %v, want %v", r.name, s.TTL, r.ttl)
			}
			if lease.TTL() != r.ttl {
				t.Errorf("creds/%s: registered lease TTL %v, want %v", r.name, lease.TTL(), r.ttl)
			}
			if s.InternalData["secret_type"] != "token" || s.InternalData["accessor_id"] != accessor {
				t.Errorf("creds/%s: internal_data = %v, want secret_type=token, accessor_id=%s", r.name, s.InternalData, accessor)
			}
			if _, leaked := s.InternalData["secret_id"]; leaked {
				t.Errorf("creds/%s: the token's secret is kept in the lease's internal data", r.name)
			}

			tok, err := fake.NomadToken(accessor)
			if err != nil || tok == nil {
				t.Fatalf("creds/%s: token %s not in Nomad: %v", r.name, accessor, err)
			}
			if tok.SecretID != secretID {
				t.Errorf("creds/%s: Nomad's SecretID differs from the returned secret_id", r.name)
			}
			if tok.Type != r.tokType || strings.Join(tok.Policies, ",") != strings.Join(r.policies, ",") {
				t.Errorf("creds/%s: Nomad token type %q policies %v, want %q %v", r.name, tok.Type, tok.Policies, r.tokType, r.policies)
			}
			if !strings.HasPrefix(tok.Name, "vault-"+r.name+"-") {
				t.Errorf("creds/%s: token name %q, want vault-%s-…", r.name, tok.Name, r.name)
			}
			if tok.ExpirationTime == nil {
				t.Fatalf("creds/%s: Nomad token has no ExpirationTime", r.name)
			}
			exp, err := time.Parse(time.RFC3339Nano, *tok.ExpirationTime)
			if err != nil {
				t.Fatalf("creds/%s: ExpirationTime %q: %v", r.name, *tok.ExpirationTime, err)
			}
			// The lease never outlives the token (ExpirationTTL = lease max TTL).
			if exp.Before(before.Add(s.TTL)) {
				t.Errorf("creds/%s: token expires at %v, before the lease's end %v", r.name, exp, before.Add(s.TTL))
			}
			leases[r.name] = lease
		}
	})
	if len(leases) != len(roles) {
		t.FailNow()
	}

	t.Run("renew", func(t *testing.T) {
		l := leases["dispatch"]
		for _, inc := range []time.Duration{10 * time.Minute, 5 * time.Minute} {
			resp, renewed, err := m.Expiration().Renew(ctxFor(t), l.LeaseID, inc)
			if err != nil {
				t.Fatalf("renew dispatch by %v: %v", inc, err)
			}
			if renewed == nil || resp.Secret == nil {
				t.Fatalf("renew dispatch by %v: the plugin returned no secret (Vault: no lease change)", inc)
			}
			if resp.Secret.TTL != inc {
				t.Errorf("renew dispatch by %v: returned TTL %v", inc, resp.Secret.TTL)
			}
			if got := renewed.TTL(); got != inc {
				t.Errorf("renew dispatch by %v: lease TTL now %v", inc, got)
			}
			// Vault replaces the stored secret with the returned one: it
			// must still dispatch to the token secret (checklist §12.11).
			id := renewed.Secret.InternalData
			if id["secret_type"] != "token" || id["accessor_id"] != accessorOf(t, l) {
				t.Errorf("renew dispatch by %v: stored internal_data after renew = %v", inc, id)
			}
			if !renewed.Secret.Renewable {
				t.Errorf("renew dispatch by %v: the renewed secret is not renewable", inc)
			}
		}
		// No increment: the role's TTL (admin: none → mount default 24 h),
		// cut to what is left of the Nomad token's 24 h.
		resp, renewed, err := m.Expiration().Renew(ctxFor(t), leases["admin"].LeaseID, 0)
		if err != nil || renewed == nil {
			t.Fatalf("renew admin: %v (response %#v)", err, resp)
		}
		if ttl := resp.Secret.TTL; ttl > 24*time.Hour || ttl < 24*time.Hour-time.Minute {
			t.Errorf("renew admin without increment: TTL %v, want just under 24h (capped at the token's expiry)", ttl)
		}
		if renewed.Secret.InternalData["secret_type"] != "token" {
			t.Errorf("renew admin: internal_data = %v", renewed.Secret.InternalData)
		}
	})

	t.Run("revoke", func(t *testing.T) {
		for _, name := range []string{"dispatch", "admin"} {
			l := leases[name]
			accessor := accessorOf(t, l)
			if err := m.Expiration().Revoke(ctxFor(t), l.LeaseID); err != nil {
				t.Fatalf("revoke %s: %v", name, err)
			}
			if tok, err := fake.NomadToken(accessor); err != nil || tok != nil {
				t.Errorf("revoke %s: token %s still in Nomad (err %v)", name, accessor, err)
			}
		}
		if live := m.Expiration().Live(); len(live) != 0 {
			t.Errorf("leases left after revoking all: %v", live)
		}
	})

	t.Run("disable", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			issue(t, m, "dispatch")
		}
		issue(t, m, "admin")
		issue(t, m, "admin")
		// One renewed before the unmount: revoke must still dispatch.
		if _, _, err := m.Expiration().Renew(ctxFor(t), m.Expiration().Live()[0], time.Minute); err != nil {
			t.Fatalf("renew before disable: %v", err)
		}
		toks, err := fake.VaultTokens()
		if err != nil || len(toks) != 5 {
			t.Fatalf("before disable: %d vault-* tokens in Nomad, want 5 (err %v)", len(toks), err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := m.Unmount(ctx); err != nil {
			t.Fatalf("secrets disable (rollback, revoke every lease, Cleanup): %v", err)
		}
		assertGracefulExit(t, m.Client().Proc(), log)
		if toks, err := fake.VaultTokens(); err != nil || len(toks) != 0 {
			t.Errorf("after disable: %d vault-* tokens remain in Nomad (err %v): %v", len(toks), err, toks)
		}
		if all, err := fake.NomadTokens(); err != nil || len(all) != 1 {
			t.Errorf("after disable: Nomad lists %d tokens, want only the management token (err %v)", len(all), err)
		}
	})
}
