package hostkit

// The legacy (protocol 3/4) launch, Vault < 1.12 and Vault's fallback when the
// v5 start fails (reference §5.2–5.4): a metadata-mode run in plaintext, then
// the real run, for which RunConfig generates one certificate and key and has
// the RunnerUtil response-wrap them (ResponseWrapData(..., 60 s, jwt=true));
// the plugin unwraps them at <addr from the JWT>/v1/sys/wrapping/unwrap. The
// UnwrapServer here is that Vault endpoint.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// LegacyPlugin is one legacy-protocol plugin process.
type LegacyPlugin struct {
	Client  *goplugin.Client
	RPC     goplugin.ClientProtocol
	Conn    *grpc.ClientConn
	Backend Backend // the SDK's backendGRPCPluginClient (legacy: no multiplex_id)
	Pid     int
}

// StartLegacy launches the catalog's executable the way the SDK's legacy
// NewPluginClient does (plugin set {3,4}, AutoMTLS off), in metadata mode or
// not, and dispenses the backend. The real run needs c.Wrapper (an
// UnwrapServer) for the TLS bootstrap.
func StartLegacy(ctx context.Context, c *Catalog, logger hclog.Logger, metadataMode bool) (*LegacyPlugin, error) {
	client, err := c.Runner.RunConfig(ctx,
		OptRunner(c),
		OptPluginSets(LegacyPluginSet(metadataMode)),
		OptHandshakeConfig(HandshakeConfig),
		OptEnv(),
		OptLogger(logger.Named(c.Runner.Name)),
		OptMetadataMode(metadataMode),
		OptAutoMTLS(false),
	)
	if err != nil {
		return nil, err
	}
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, err
	}
	gc, ok := rpc.(*goplugin.GRPCClient)
	if !ok {
		client.Kill()
		return nil, fmt.Errorf("plugin did not negotiate gRPC (got %T)", rpc)
	}
	raw, err := rpc.Dispense("backend")
	if err != nil {
		client.Kill()
		return nil, err
	}
	b, ok := raw.(Backend)
	if !ok {
		client.Kill()
		return nil, fmt.Errorf("dispensed %T, not a logical.Backend", raw)
	}
	lp := &LegacyPlugin{Client: client, RPC: rpc, Conn: gc.Conn, Backend: b}
	if rc := client.ReattachConfig(); rc != nil {
		lp.Pid = rc.Pid
	}
	return lp, nil
}

// ---------------------------------------------------------------------------
// the unwrap endpoint

// UnwrapAttempt records one request to the unwrap endpoint.
type UnwrapAttempt struct {
	Method, Path string
	TokenHeader  string // X-Vault-Token
	Body         string
	Status       int
}

type wrapped struct {
	data    json.RawMessage
	expires time.Time
	used    bool
}

// UnwrapServer plays Vault's response wrapping for the legacy TLS bootstrap:
// ResponseWrapData stores the data and returns a single-use JWT (ES512, typ
// JWT, claims jti/iat/exp/nbf/type=wrapping/addr/accessor) whose addr is this
// server; PUT /v1/sys/wrapping/unwrap with X-Vault-Token = that JWT answers
// {"data": <the wrapped data>} once, then 400 like Vault.
type UnwrapServer struct {
	// URL is the addr put into the JWT (http://127.0.0.1:port, or https).
	URL string
	// CAFile is a PEM file with the HTTPS server's certificate ("" for http),
	// what an operator passes to the plugin as -ca-cert.
	CAFile string
	// TTLOverride, when non-zero, replaces the requested TTL (negative: the
	// token is issued already expired).
	TTLOverride time.Duration

	key  *ecdsa.PrivateKey
	srv  *http.Server
	ln   net.Listener
	dir  string
	mu   sync.Mutex
	toks map[string]*wrapped
	log  []UnwrapAttempt
}

// NewUnwrapServer listens on 127.0.0.1; with useTLS it serves HTTPS with a
// fresh self-signed certificate for 127.0.0.1 written to CAFile.
func NewUnwrapServer(useTLS bool) (*UnwrapServer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &UnwrapServer{key: key, ln: ln, toks: map[string]*wrapped{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/sys/wrapping/unwrap", s.unwrap)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	scheme := "http"
	if useTLS {
		certPEM, cert, err := selfSignedLocalhost()
		if err != nil {
			ln.Close()
			return nil, err
		}
		s.dir, err = os.MkdirTemp("", "unwrap-ca")
		if err != nil {
			ln.Close()
			return nil, err
		}
		s.CAFile = filepath.Join(s.dir, "vault-ca.pem")
		if err := os.WriteFile(s.CAFile, certPEM, 0o600); err != nil {
			ln.Close()
			return nil, err
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		scheme = "https"
	}
	s.URL = fmt.Sprintf("%s://%s", scheme, s.ln.Addr().String())
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server and removes CAFile.
func (s *UnwrapServer) Close() {
	_ = s.srv.Close()
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}

// Attempts returns the unwrap requests received so far.
func (s *UnwrapServer) Attempts() []UnwrapAttempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]UnwrapAttempt(nil), s.log...)
}

// Tokens returns every token issued so far.
func (s *UnwrapServer) Tokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.toks))
	for t := range s.toks {
		out = append(out, t)
	}
	return out
}

// MarkUsed makes token unusable, as if it had been unwrapped already.
func (s *UnwrapServer) MarkUsed(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w, ok := s.toks[token]; ok {
		w.used = true
	}
}

// Wrap stores data and returns a wrapping JWT for it (ResponseWrapData's work).
func (s *UnwrapServer) Wrap(data map[string]interface{}, ttl time.Duration) (string, time.Time, error) {
	if s.TTLOverride != 0 {
		ttl = s.TTLOverride
	}
	raw, err := json.Marshal(data) // []byte values become standard base64, as in Vault's cubbyhole
	if err != nil {
		return "", time.Time{}, err
	}
	now := time.Now()
	jti := NewMultiplexID() + NewMultiplexID()
	claims := map[string]interface{}{
		"jti":      jti,
		"iat":      now.Unix(),
		"exp":      now.Add(ttl).Unix(),
		"nbf":      now.Add(-5 * time.Second).Unix(),
		"type":     "wrapping",
		"addr":     s.URL,
		"accessor": "",
	}
	token, err := signES512(s.key, map[string]interface{}{"alg": "ES512", "typ": "JWT"}, claims)
	if err != nil {
		return "", time.Time{}, err
	}
	s.mu.Lock()
	s.toks[token] = &wrapped{data: raw, expires: now.Add(ttl)}
	s.mu.Unlock()
	return token, now, nil
}

// ResponseWrapData implements the RunnerUtil method for the Catalog.
func (s *UnwrapServer) ResponseWrapData(_ context.Context, data map[string]interface{}, ttl time.Duration, jwt bool) (*ResponseWrapInfo, error) {
	if !jwt {
		return nil, errors.New("unwrap server: only JWT wrapping tokens are implemented")
	}
	token, created, err := s.Wrap(data, ttl)
	if err != nil {
		return nil, err
	}
	return &ResponseWrapInfo{TTL: ttl, Token: token, CreationTime: created, Format: "jwt", CreationPath: "sys/wrapping/wrap"}, nil
}

func (s *UnwrapServer) unwrap(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	token := r.Header.Get("X-Vault-Token")
	status, answer := s.answer(r.Method, token)
	s.mu.Lock()
	s.log = append(s.log, UnwrapAttempt{Method: r.Method, Path: r.URL.Path, TokenHeader: token, Body: string(body), Status: status})
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(answer)
}

func (s *UnwrapServer) answer(method, token string) (int, []byte) {
	vaultError := func(status int, msg string) (int, []byte) {
		raw, _ := json.Marshal(map[string][]string{"errors": {msg}})
		return status, raw
	}
	if method != http.MethodPut && method != http.MethodPost {
		return vaultError(http.StatusMethodNotAllowed, "unsupported operation")
	}
	if token == "" {
		return vaultError(http.StatusBadRequest, "missing client token")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	wt, ok := s.toks[token]
	if !ok || wt.used || time.Now().After(wt.expires) {
		return vaultError(http.StatusBadRequest, "wrapping token is not valid or does not exist")
	}
	wt.used = true
	raw, _ := json.Marshal(map[string]interface{}{
		"request_id":     NewMultiplexID(),
		"lease_id":       "",
		"renewable":      false,
		"lease_duration": 0,
		"data":           wt.data,
		"wrap_info":      nil,
		"warnings":       nil,
		"auth":           nil,
	})
	return http.StatusOK, raw
}

func signES512(key *ecdsa.PrivateKey, header, claims map[string]interface{}) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	digest := sha512.Sum512([]byte(signing))
	r, sv, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		return "", err
	}
	const size = 66 // P-521: ceil(521/8)
	sig := make([]byte, 2*size)
	r.FillBytes(sig[:size])
	sv.FillBytes(sig[size:])
	return signing + "." + enc.EncodeToString(sig), nil
}

// JWTClaims decodes a JWT's claims without verifying it (what the plugin does).
func JWTClaims(token string) (map[string]interface{}, map[string]interface{}, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, nil, errors.New("not a JWT")
	}
	var header, claims map[string]interface{}
	for i, out := range []*map[string]interface{}{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return nil, nil, err
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, nil, err
		}
	}
	return header, claims, nil
}

func selfSignedLocalhost() ([]byte, tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "vault.test"},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
