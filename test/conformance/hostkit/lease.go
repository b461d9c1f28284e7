package hostkit

// What Vault's expiration manager does with a secret a plugin returns:
// register a lease (TTL from the secret or the mount default, capped by the
// max; lease_id = <mount><path>/<random>), persist it JSON-encoded (so the
// secret comes back exactly as it survives that encoding: internal_data
// decoded with UseNumber, IssueTime and Increment dropped, LeaseID kept), and
// later send it back for renew and revoke (vault/expiration.go renewEntry,
// revokeEntry; reference §7.4).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"sync"
	"time"
)

// Lease mirrors Vault's leaseEntry for a secret.
type Lease struct {
	LeaseID         string                 `json:"lease_id"`
	Path            string                 `json:"path"` // relative to the mount, as the plugin sees it
	Data            map[string]interface{} `json:"data"`
	Secret          *Secret                `json:"secret"`
	IssueTime       time.Time              `json:"issue_time"`
	ExpireTime      time.Time              `json:"expire_time"`
	LastRenewalTime time.Time              `json:"last_renewal_time"`
}

// TTL is the lease's current duration (ExpireTime − last renewal or issue).
func (l *Lease) TTL() time.Duration {
	from := l.IssueTime
	if !l.LastRenewalTime.IsZero() {
		from = l.LastRenewalTime
	}
	return l.ExpireTime.Sub(from)
}

// Expiration keeps the leases of one mount, JSON-encoded as Vault persists them.
type Expiration struct {
	m      *Mount
	mu     sync.Mutex
	stored map[string][]byte
}

// Expiration returns the mount's lease store (one per Mount).
func (m *Mount) Expiration() *Expiration {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.expiration == nil {
		m.expiration = &Expiration{m: m, stored: map[string][]byte{}}
	}
	return m.expiration
}

func encodeLease(l *Lease) ([]byte, error) { return json.Marshal(l) }

func decodeLease(raw []byte) (*Lease, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // Vault's jsonutil.DecodeJSON
	var l Lease
	if err := dec.Decode(&l); err != nil {
		return nil, err
	}
	return &l, nil
}

// Register does what Vault does with a response carrying a secret: apply the
// mount's default TTL when the secret has none, cap it by the max TTL, give it
// a lease ID, store it. The lease ID is also set on resp.Secret.
func (e *Expiration) Register(req *Request, resp *Response) (*Lease, error) {
	if resp == nil || resp.Secret == nil {
		return nil, errors.New("response has no secret")
	}
	if err := resp.Secret.Validate(); err != nil {
		return nil, err
	}
	sys := e.m.Sys
	ttl, _, err := CalculateTTL(sys, 0, resp.Secret.TTL, 0, resp.Secret.MaxTTL, 0, time.Time{})
	if err != nil {
		return nil, err
	}
	resp.Secret.TTL = ttl
	now := time.Now()
	id := path.Join(MountPoint+req.Path, NewMultiplexID()+NewMultiplexID())
	resp.Secret.LeaseID = id
	l := &Lease{
		LeaseID:    id,
		Path:       req.Path,
		Data:       resp.Data,
		Secret:     resp.Secret,
		IssueTime:  now,
		ExpireTime: now.Add(ttl),
	}
	return e.persist(l)
}

func (e *Expiration) persist(l *Lease) (*Lease, error) {
	raw, err := encodeLease(l)
	if err != nil {
		return nil, fmt.Errorf("failed to encode lease entry: %w", err)
	}
	e.mu.Lock()
	e.stored[l.LeaseID] = raw
	e.mu.Unlock()
	return decodeLease(raw)
}

// Load reads a lease back from its stored encoding; nil when it is gone.
func (e *Expiration) Load(leaseID string) (*Lease, error) {
	e.mu.Lock()
	raw, ok := e.stored[leaseID]
	e.mu.Unlock()
	if !ok {
		return nil, nil
	}
	return decodeLease(raw)
}

// Live lists the IDs of the leases not revoked yet, sorted.
func (e *Expiration) Live() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	ids := make([]string, 0, len(e.stored))
	for id := range e.stored {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// RenewRequest is the request Vault's renewEntry sends for a stored lease.
func (e *Expiration) RenewRequest(l *Lease, increment time.Duration) *Request {
	secret := *l.Secret
	secret.IssueTime = l.IssueTime
	secret.Increment = increment
	secret.LeaseID = ""
	req := RenewRequest(l.Path, &secret, l.Data)
	req.ID = NewMultiplexID()
	req.MountPoint, req.MountType = MountPoint, PluginName
	return req
}

// Renew is Vault's RenewLease for a secret lease: refused when not renewable;
// the plugin's answer replaces the stored secret and data; the new TTL is
// framework.CalculateTTL(increment, returned TTL, returned max TTL, issue
// time). It returns the plugin's response and the updated lease (nil when the
// plugin returned no secret: "no lease change").
func (e *Expiration) Renew(ctx context.Context, leaseID string, increment time.Duration) (*Response, *Lease, error) {
	l, err := e.Load(leaseID)
	if err != nil {
		return nil, nil, err
	}
	if l == nil {
		return nil, nil, fmt.Errorf("lease not found: %s", leaseID)
	}
	if l.Secret == nil || !l.Secret.Renewable {
		return nil, nil, errors.New("lease is not renewable")
	}
	resp, err := e.m.HandleRequest(ctx, e.RenewRequest(l, increment))
	if err != nil || (resp != nil && resp.IsError()) {
		return resp, nil, fmt.Errorf("failed to renew entry: resp: %#v err: %w", resp, err)
	}
	if resp == nil || resp.Secret == nil {
		return resp, nil, nil
	}
	if err := resp.Secret.Validate(); err != nil {
		return resp, nil, err
	}
	ttl, _, err := CalculateTTL(e.m.Sys, increment, resp.Secret.TTL, 0, resp.Secret.MaxTTL, 0, l.IssueTime)
	if err != nil {
		return resp, nil, err
	}
	now := time.Now()
	l.Data = resp.Data
	l.Secret = resp.Secret
	l.ExpireTime = now.Add(ttl)
	l.LastRenewalTime = now
	updated, err := e.persist(l)
	if err != nil {
		return resp, nil, err
	}
	resp.Secret.LeaseID = leaseID
	return resp, updated, nil
}

// RevokeRequest is the request Vault's revokeEntry sends for a stored lease.
func (e *Expiration) RevokeRequest(l *Lease) *Request {
	if l.Secret != nil {
		l.Secret.IssueTime = l.IssueTime
	}
	req := RevokeRequest(l.Path, l.Secret, l.Data)
	req.ID = NewMultiplexID()
	req.MountPoint, req.MountType = MountPoint, PluginName
	return req
}

// Revoke is Vault's revokeEntry: an error or an error response fails the
// revoke and the lease stays (Vault retries it later); success removes it.
func (e *Expiration) Revoke(ctx context.Context, leaseID string) error {
	l, err := e.Load(leaseID)
	if err != nil {
		return err
	}
	if l == nil {
		return nil
	}
	resp, err := e.m.HandleRequest(ctx, e.RevokeRequest(l))
	if err != nil || (resp != nil && resp.IsError()) {
		var respErr error
		if resp != nil && resp.IsError() {
			respErr = resp.Error()
		}
		if err == nil {
			err = respErr
		}
		return fmt.Errorf("failed to revoke entry: %w", err)
	}
	e.mu.Lock()
	delete(e.stored, leaseID)
	e.mu.Unlock()
	return nil
}

// RevokeAll revokes every live lease, returning the failures joined.
func (e *Expiration) RevokeAll(ctx context.Context) error {
	var errs []error
	for _, id := range e.Live() {
		if err := e.Revoke(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// Rollback sends the periodic rollback request; like Vault, an unsupported
// operation is not an error.
func (m *Mount) Rollback(ctx context.Context) error {
	req := RollbackRequest("")
	req.ID = NewMultiplexID()
	req.MountPoint, req.MountType = MountPoint, PluginName
	resp, err := m.HandleRequest(ctx, req)
	if err == ErrUnsupportedOperation {
		return nil
	}
	if err != nil {
		return err
	}
	if resp != nil && resp.IsError() {
		return resp.Error()
	}
	return nil
}

// Unmount is `vault secrets disable`: rollback, revoke every lease (a failed
// revoke fails the unmount, leaving the mount in place), Cleanup (the last
// mount of a process also shuts the process down), delete the storage.
func (m *Mount) Unmount(ctx context.Context) error {
	if err := m.Rollback(ctx); err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	if err := m.Expiration().RevokeAll(ctx); err != nil {
		return fmt.Errorf("revoking leases: %w", err)
	}
	if err := m.Cleanup(ctx); err != nil {
		return err
	}
	keys, err := m.Storage.List(ctx, "")
	if err != nil {
		return err
	}
	var walk func(prefix string, keys []string) error
	walk = func(prefix string, keys []string) error {
		for _, k := range keys {
			if len(k) > 0 && k[len(k)-1] == '/' {
				sub, err := m.Storage.List(ctx, prefix+k)
				if err != nil {
					return err
				}
				if err := walk(prefix+k, sub); err != nil {
					return err
				}
				continue
			}
			if err := m.Storage.Delete(ctx, prefix+k); err != nil {
				return err
			}
		}
		return nil
	}
	return walk("", keys)
}
