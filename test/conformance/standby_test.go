package conformance

// A performance standby (OpenBao 2.5+ serves reads on Raft standbys): the
// host's SystemView reports ReplicationPerformanceStandby through the broker.
// Every operation with a side effect must come back with an error that the
// host's logical.ShouldForward recognises, before it mints a Nomad token or
// touches storage; plain reads are answered on the standby.

import (
	"reflect"
	"testing"

	"github.com/nomad-plugin/conformance/hostkit"
)

func TestPerformanceStandby(t *testing.T) {
	env := newFaultEnv(t) // a configured mount against the Nomad fake
	fake, m := env.fake, env.m
	write(t, m, "config/lease", map[string]interface{}{"ttl": 600, "max_ttl": 3600})

	m.Sys.ReplicationStateVal = hostkit.ReplicationPerformanceStandby
	storedBefore := dumpStorage(t, m.Storage)
	tokensBefore := tokenCreates(t, fake)

	forwarded := []struct {
		op   Operation
		path string
		data map[string]interface{}
	}{
		{opRead, "creds/admin", nil},
		{opRead, "creds/dispatch", nil},
		{opUpdate, "config/access", map[string]interface{}{"max_token_name_length": 64}},
		{opDelete, "config/access", nil},
		{opUpdate, "config/lease", map[string]interface{}{"ttl": 60}},
		{opDelete, "config/lease", nil},
		{opCreate, "role/new", map[string]interface{}{"policies": "x"}},
		{opUpdate, "role/admin", map[string]interface{}{"type": "client", "policies": "x"}},
		{opDelete, "role/dispatch", nil},
		{opUpdate, "config/rotate-root", nil},
	}
	for _, f := range forwarded {
		resp, err := handle(t, m, f.op, f.path, f.data)
		if err == nil || !hostkit.ShouldForward(err) {
			t.Errorf("%s %s on a standby: err = %v, response %#v; want an error the host forwards (logical.ShouldForward)", f.op, f.path, err, resp)
		}
	}
	if n := tokenCreates(t, fake); n != tokensBefore {
		t.Errorf("Nomad token creates on the standby: %d, want none", n-tokensBefore)
	}
	if after := dumpStorage(t, m.Storage); !reflect.DeepEqual(after, storedBefore) {
		t.Errorf("storage changed on the standby:\nbefore %v\nafter  %v", storedBefore, after)
	}

	local := []struct {
		op   Operation
		path string
	}{
		{opRead, "config/access"},
		{opRead, "config/lease"},
		{opRead, "role/admin"},
		{opList, "role/"},
		{opHelp, "creds/admin"},
	}
	for _, l := range local {
		resp, err := handle(t, m, l.op, l.path, nil)
		if err != nil || resp == nil || resp.IsError() {
			t.Errorf("%s %s on a standby: err = %v, response %#v; want it answered locally", l.op, l.path, err, resp)
		}
	}

	// Another node wrote role/admin: what the host's storage now holds shows
	// once the host sends InvalidateKey for it, as OpenBao does on standbys.
	t.Run("a replicated role change shows after InvalidateKey", func(t *testing.T) {
		if resp := mustHandle(t, m, opRead, "role/admin", nil); resp.Data["type"] != "management" {
			t.Fatalf("role/admin before: %v", resp.Data)
		}
		replicated := `{"policies":["readonly"],"roles":[],"type":"client","global":false,"ttl":0,"max_ttl":0}`
		must(t, m.Storage.Put(ctxFor(t), &hostkit.StorageEntry{Key: "role/admin", Value: []byte(replicated)}))
		m.B().InvalidateKey(ctxFor(t), "role/admin")
		resp := mustHandle(t, m, opRead, "role/admin", nil)
		if resp.Data["type"] != "client" || !reflect.DeepEqual(toStrings(resp.Data["policies"]), []string{"readonly"}) {
			t.Errorf("role/admin after InvalidateKey: %v; want the replicated client role", resp.Data)
		}
		// Put back what the failover step below mints with.
		must(t, m.Storage.Put(ctxFor(t), &hostkit.StorageEntry{Key: "role/admin", Value: []byte(`{"policies":[],"roles":[],"type":"management","global":false,"ttl":0,"max_ttl":0}`)}))
		m.B().InvalidateKey(ctxFor(t), "role/admin")
	})

	t.Run("after failover to this node", func(t *testing.T) {
		m.Sys.ReplicationStateVal = 0
		issue(t, m, "admin")
		if n := tokenCreates(t, fake); n != tokensBefore+1 {
			t.Errorf("Nomad token creates once active: %d, want 1", n-tokensBefore)
		}
	})
}
