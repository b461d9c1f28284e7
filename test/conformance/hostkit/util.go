package hostkit

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"time"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewMultiplexID returns a 10-character base62 ID, like Vault's catalog gives
// each mount of a multiplexed plugin (and like Vault's lease IDs' suffix).
func NewMultiplexID() string {
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

// AsInt64 reads a number as decoded by the SDK (json.Number) or given natively.
func AsInt64(v interface{}) (int64, bool) {
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

// Within runs f and reports whether it returned within d (f keeps running in
// the background when it did not: the SDK's Type, SpecialPaths and
// PluginVersion calls have no deadline of their own).
func Within(d time.Duration, f func()) bool {
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// ErrTimeout is returned by helpers whose call did not finish in time.
type ErrTimeout struct {
	What  string
	After time.Duration
}

func (e *ErrTimeout) Error() string {
	return fmt.Sprintf("%s did not return within %v", e.What, e.After)
}
