package conformance

// Tests that launch the executable directly with os/exec (no SDK client) to
// look at the go-plugin handshake and the AutoMTLS listener from outside.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// goPluginNotAPluginMessage is what go-plugin's Serve prints to stderr when
// the magic cookie is missing or wrong (then it exits 1).
const goPluginNotAPluginMessage = "This binary is a plugin. These are not meant to be executed directly.\n" +
	"Please execute the program that consumes these plugins, which will\n" +
	"load any plugins automatically\n"

// Vault's database-plugin cookie: the first launch when Vault guesses a
// plugin's type at registration.
const databasePluginCookie = "VAULT_DATABASE_PLUGIN=926a0820-aea2-be28-51d6-83cdf00e8edb"

// autoMTLSCert makes a one-time certificate shaped like the one a go-plugin
// host generates for AutoMTLS: ECDSA P-521, self-signed CA, CN and DNS SAN
// localhost, client+server auth, valid from 30 s ago for ~30 years.
func autoMTLSCert(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"HashiCorp"}},
		DNSNames:              []string{"localhost"},
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageKeyAgreement | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		NotBefore:             now.Add(-30 * time.Second),
		NotAfter:              now.Add(262980 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, certPEM
}

// baseEnv is this process's environment without any plugin-protocol
// variables, so each test sets exactly what it means to.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "VAULT_") || strings.HasPrefix(kv, "BAO_") || strings.HasPrefix(kv, "PLUGIN_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// v5Env is what Vault's catalog sets for a v5 AutoMTLS launch, minus the cookie.
func v5Env(clientCertPEM []byte) []string {
	return []string{
		"PLUGIN_MIN_PORT=10000",
		"PLUGIN_MAX_PORT=25000",
		"PLUGIN_PROTOCOL_VERSIONS=5",
		"PLUGIN_CLIENT_CERT=" + string(clientCertPEM),
		"VAULT_VERSION=" + vaultVersion,
		"VAULT_PLUGIN_METADATA_MODE=false",
		"VAULT_PLUGIN_AUTOMTLS_ENABLED=true",
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// launchServing starts the plugin with a correct v5 environment and returns
// its handshake line; the process is killed at the end of the test.
func launchServing(t *testing.T, clientCertPEM []byte) (string, *syncBuffer) {
	t.Helper()
	bin, _ := requireBinary(t)
	cmd := exec.Command(bin)
	cmd.Env = append(append(baseEnv(), "VAULT_BACKEND_PLUGIN=6669da05-b1c8-4f49-97d9-c8e5bed98e20"), v5Env(clientCertPEM)...)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	exited := make(chan struct{})
	lineCh := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		lineCh <- line
		_, _ = io.Copy(io.Discard, r) // the host discards later stdout lines
	}()
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("plugin stderr:\n%s", stderr.String())
		}
	})
	select {
	case line := <-lineCh:
		if line == "" {
			t.Fatalf("plugin wrote no handshake line (stdout closed)")
		}
		return line, stderr
	case <-exited:
		t.Fatalf("plugin exited before writing the handshake line")
	case <-time.After(60 * time.Second): // go-plugin's StartTimeout
		t.Fatalf("no handshake line within 60 s")
	}
	return "", nil
}

type handshake struct {
	network, addr string
	cert          *x509.Certificate
}

// parseHandshake checks the line as go-plugin's client would, plus the
// certificate properties Go's TLS stack will insist on.
func parseHandshake(t *testing.T, line string) handshake {
	t.Helper()
	if !strings.HasSuffix(line, "\n") {
		t.Errorf("handshake line %q does not end with a newline", line)
	}
	f := strings.Split(strings.TrimSpace(line), "|")
	if len(f) != 6 {
		t.Fatalf("handshake line has %d fields, want 6 (no 7th field without PLUGIN_MULTIPLEX_GRPC): %q", len(f), line)
	}
	if f[0] != "1" {
		t.Errorf("core protocol version %q, want 1", f[0])
	}
	if f[1] != "5" {
		t.Errorf("app protocol version %q, want 5", f[1])
	}
	if f[2] != "unix" && f[2] != "tcp" {
		t.Fatalf("network type %q, want unix or tcp", f[2])
	}
	if f[4] != "grpc" {
		t.Errorf("protocol %q, want grpc", f[4])
	}
	if strings.HasSuffix(f[5], "=") {
		t.Errorf("server cert is padded base64; go-plugin decodes it with RawStdEncoding")
	}
	der, err := base64.RawStdEncoding.DecodeString(f[5])
	if err != nil {
		t.Fatalf("server cert field: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("server cert does not parse with Go's x509: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	// The host verifies it as a server for "localhost" on the main
	// connection and as a client on brokered connections.
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: "localhost", KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			t.Errorf("plugin certificate rejected by Go for %v: %v", usage, err)
		}
	}
	if cert.SerialNumber.Sign() < 0 {
		t.Errorf("plugin certificate has a negative serial number")
	}
	return handshake{network: f[2], addr: f[3], cert: cert}
}

// probe dials the plugin's listener with crypto/tls like the host (offering
// the given ALPN protocols), sends the HTTP/2 preface and waits up to 5 s
// for the server's SETTINGS frame.
func probe(h handshake, clientCerts []tls.Certificate, alpn []string) error {
	conn, err := net.DialTimeout(h.network, h.addr, 5*time.Second)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	roots := x509.NewCertPool()
	roots.AddCert(h.cert)
	tc := tls.Client(conn, &tls.Config{
		Certificates: clientCerts,
		RootCAs:      roots,
		ServerName:   "localhost",
		NextProtos:   alpn,
		MinVersion:   tls.VersionTLS12,
	})
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("TLS handshake: %w", err)
	}
	if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" && contains(alpn, "h2") {
		return fmt.Errorf("negotiated ALPN %q, want h2", p)
	}
	preface := append([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 0, 0, 0, 4, 0, 0, 0, 0, 0) // + empty SETTINGS
	if _, err := tc.Write(preface); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	var hdr [9]byte
	if _, err := io.ReadFull(tc, hdr[:]); err != nil {
		return fmt.Errorf("first read: %w", err)
	}
	if hdr[3] != 4 {
		if string(hdr[:4]) == "HTTP" { // an HTTP/1.x answer, e.g. Node's "HTTP/1.0 403 Forbidden"
			rest := make([]byte, 200)
			n, _ := io.ReadAtLeast(tc, rest, 1)
			line := strings.SplitN(string(hdr[:])+string(rest[:n]), "\r\n", 2)[0]
			return fmt.Errorf("answered in HTTP/1.x instead of HTTP/2: %q", line)
		}
		return fmt.Errorf("first HTTP/2 frame has type %d, want SETTINGS (4)", hdr[3])
	}
	return nil
}

// TestAutoMTLSListener: only the certificate from PLUGIN_CLIENT_CERT may
// talk to the plugin's gRPC listener.
func TestAutoMTLSListener(t *testing.T) {
	hostCert, hostPEM := autoMTLSCert(t)
	otherCert, _ := autoMTLSCert(t)
	line, _ := launchServing(t, hostPEM)

	var h handshake
	t.Run("handshake line", func(t *testing.T) { h = parseHandshake(t, line) })
	if h.cert == nil {
		t.FailNow()
	}

	h2 := []string{"h2"}
	cases := []struct {
		name   string
		certs  []tls.Certificate
		alpn   []string
		accept bool
	}{
		{"no client certificate", nil, h2, false},
		{"self-signed certificate of the same shape, not PLUGIN_CLIENT_CERT", []tls.Certificate{otherCert}, h2, false},
		// The right certificate is not enough: gRPC is HTTP/2 negotiated by
		// ALPN (grpc-go ≥ 1.67 insists on it), so a client that does not
		// offer h2 must not get an HTTP/2 answer.
		{"PLUGIN_CLIENT_CERT certificate without ALPN", []tls.Certificate{hostCert}, nil, false},
		{"PLUGIN_CLIENT_CERT certificate with ALPN http/1.1 only", []tls.Certificate{hostCert}, []string{"http/1.1"}, false},
		// Last, so it also proves the refusals did not take the listener down.
		{"PLUGIN_CLIENT_CERT certificate with ALPN h2", []tls.Certificate{hostCert}, h2, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := probe(h, tc.certs, tc.alpn)
			switch {
			case tc.accept && err != nil:
				t.Fatalf("refused: %v", err)
			case !tc.accept && err == nil:
				t.Fatalf("the plugin accepted the connection and answered HTTP/2")
			case !tc.accept:
				t.Logf("refused as expected after %v: %v", time.Since(start).Round(time.Millisecond), err)
			}
		})
	}
}

// TestWrongCookie: without the backend-plugin cookie the executable must
// behave like a go-plugin server: the fixed message on stderr, exit status 1,
// nothing on stdout.
func TestWrongCookie(t *testing.T) {
	bin, _ := requireBinary(t)
	_, hostPEM := autoMTLSCert(t)
	cases := []struct {
		name   string
		cookie []string
	}{
		{"cookie missing", nil},
		{"cookie with a wrong value", []string{"VAULT_BACKEND_PLUGIN=0000-not-the-cookie"}},
		{"database plugin cookie only (Vault guessing the type)", []string{databasePluginCookie}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin)
			cmd.Env = append(append(baseEnv(), tc.cookie...), v5Env(hostPEM)...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if ctx.Err() != nil {
				t.Fatalf("did not exit within 20 s")
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Errorf("exit: %v, want exit status 1", err)
			}
			if !strings.Contains("\n"+stderr.String(), "\n"+goPluginNotAPluginMessage) {
				t.Errorf("stderr does not contain go-plugin's message\n%q\ngot:\n%q", goPluginNotAPluginMessage, stderr.String())
			} else if stderr.String() != goPluginNotAPluginMessage {
				t.Logf("note: stderr has more than go-plugin's message: %q", stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout must stay empty, got %q", stdout.String())
			}
		})
	}
}

func insecureTLS() *tls.Config { return &tls.Config{InsecureSkipVerify: true} } //nolint:gosec // test client of a test server
