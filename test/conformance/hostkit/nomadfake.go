package hostkit

// The Nomad ACL fake (test/support/nomad-fake-server.ts) as a child process:
// a Nomad-shaped HTTP API on URL, a fault-injection/inspection API on
// ControlURL. It needs Node 24 (the repository's node_modules/.bin/node).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// NomadFakeOptions start the fake.
type NomadFakeOptions struct {
	// Version is what the fake reports as the Nomad version (default 2.0.5).
	Version string
	// LatencyMs delays every request (the server's --latency-ms).
	LatencyMs int
	// Node is the Node 24 executable; default $NOMAD_FAKE_NODE, else the
	// repository's node_modules/.bin/node.
	Node string
	// Script is nomad-fake-server.ts; default $NOMAD_FAKE_SERVER, else the
	// repository's test/support/nomad-fake-server.ts.
	Script string
	// Stderr receives the fake's stderr (nil: discarded).
	Stderr io.Writer
}

// NomadFake is a running fake.
type NomadFake struct {
	URL             string `json:"url"`
	ManagementToken string `json:"managementToken"`
	ControlURL      string `json:"controlUrl"`

	cmd      *exec.Cmd
	stdin    io.WriteCloser
	exited   chan struct{}
	stopOnce sync.Once
	http     *http.Client
}

// FakeToken is a token as Nomad's JSON shows it.
type FakeToken struct {
	AccessorID     string
	SecretID       string
	Name           string
	Type           string
	Policies       []string
	Global         bool
	CreateTime     string
	ExpirationTime *string
	ExpirationTTL  string
}

func defaultNodePaths() (string, string) {
	node := os.Getenv("NOMAD_FAKE_NODE")
	script := os.Getenv("NOMAD_FAKE_SERVER")
	root := RepoRoot()
	if node == "" && root != "" {
		node = filepath.Join(root, "node_modules", ".bin", "node")
	}
	if script == "" && root != "" {
		script = filepath.Join(root, "test", "support", "nomad-fake-server.ts")
	}
	return node, script
}

// StartNomadFake starts the fake and waits for its address line (ctx bounds
// the start). Call Stop when done.
func StartNomadFake(ctx context.Context, opts NomadFakeOptions) (*NomadFake, error) {
	node, script := defaultNodePaths()
	if opts.Node != "" {
		node = opts.Node
	}
	if opts.Script != "" {
		script = opts.Script
	}
	if node == "" || script == "" {
		return nil, errors.New("cannot locate Node 24 or nomad-fake-server.ts (set NOMAD_FAKE_NODE and NOMAD_FAKE_SERVER)")
	}
	args := []string{"--experimental-transform-types", "--no-warnings", script}
	if opts.Version != "" {
		args = append(args, "--version="+opts.Version)
	}
	if opts.LatencyMs > 0 {
		args = append(args, fmt.Sprintf("--latency-ms=%d", opts.LatencyMs))
	}
	cmd := exec.Command(node, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if opts.Stderr != nil {
		cmd.Stderr = opts.Stderr
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the Nomad fake (%s %s): %w", node, script, err)
	}
	f := &NomadFake{cmd: cmd, stdin: stdin, exited: make(chan struct{}), http: &http.Client{Timeout: 10 * time.Second}}
	go func() { _ = cmd.Wait(); close(f.exited) }()

	lineCh := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		lineCh <- line
		_, _ = io.Copy(io.Discard, r)
	}()
	select {
	case line := <-lineCh:
		if err := json.Unmarshal([]byte(line), f); err != nil || f.URL == "" || f.ControlURL == "" {
			f.Stop()
			return nil, fmt.Errorf("the Nomad fake's first line %q is not {url, managementToken, controlUrl}: %v", line, err)
		}
		return f, nil
	case <-f.exited:
		return nil, fmt.Errorf("the Nomad fake exited before printing its address (%v)", cmd.ProcessState)
	case <-ctx.Done():
		f.Stop()
		return nil, fmt.Errorf("the Nomad fake did not start: %w", ctx.Err())
	}
}

// Stop closes the fake's stdin (it then exits) and kills it after 5 s.
func (f *NomadFake) Stop() {
	f.stopOnce.Do(func() {
		_ = f.stdin.Close()
		select {
		case <-f.exited:
		case <-time.After(5 * time.Second):
			_ = f.cmd.Process.Kill()
			<-f.exited
		}
	})
}

func (f *NomadFake) control(method, route string, body interface{}, out interface{}) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, f.ControlURL+route, rd)
	if err != nil {
		return err
	}
	resp, err := f.http.Do(req)
	if err != nil {
		return fmt.Errorf("nomad fake control %s %s: %w", method, route, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("nomad fake control %s %s: %d %s", method, route, resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// Fault selects requests: Method ("" = any) and Path (a concrete path or a
// route such as "/v1/acl/token/:accessor") or PathRegex (JavaScript syntax).
type Fault struct {
	Method    string            `json:"method,omitempty"`
	Path      string            `json:"path,omitempty"`
	PathRegex string            `json:"pathRegex,omitempty"`
	Status    int               `json:"status,omitempty"`
	Body      string            `json:"body,omitempty"`
	Headers   map[string]string `json:"headers,omitempty"`
	Times     int               `json:"times,omitempty"`
	// AfterProcessing: do the work, then cut the connection (DropNext) or
	// answer with Status anyway (FailNext).
	AfterProcessing bool `json:"afterProcessing,omitempty"`
}

// FailNext answers the next Times matching requests with Status and Body.
func (f *NomadFake) FailNext(fault Fault) error {
	return f.control("POST", "/__fake/fail-next", fault, nil)
}

// DropNext cuts the connection of the next Times matching requests.
func (f *NomadFake) DropNext(fault Fault) error {
	fault.Status = 0
	return f.control("POST", "/__fake/drop-next", fault, nil)
}

// SetLatency delays matching requests (all when match is zero) by d before
// they are handled; latencies add up.
func (f *NomadFake) SetLatency(d time.Duration, match Fault) error {
	return f.control("POST", "/__fake/latency", map[string]interface{}{
		"ms": d.Milliseconds(), "method": match.Method, "path": nilIfEmpty(match.Path), "pathRegex": nilIfEmpty(match.PathRegex),
	}, nil)
}

func nilIfEmpty(s string) interface{} {
	if s == "" {
		return nil
	}
	return s
}

// ClearFaults removes every pending failure, drop and latency.
func (f *NomadFake) ClearFaults() error { return f.control("POST", "/__fake/clear-faults", nil, nil) }

// GoDown stops listening and cuts every connection, like a crashed agent.
func (f *NomadFake) GoDown() error { return f.control("POST", "/__fake/down", nil, nil) }

// ComeBack listens again on the same port with the same state.
func (f *NomadFake) ComeBack() error { return f.control("POST", "/__fake/up", nil, nil) }

// ResetStats forgets the recorded requests.
func (f *NomadFake) ResetStats() error { return f.control("POST", "/__fake/reset-stats", nil, nil) }

// IssuedTokens lists every token but the bootstrap (management) one.
func (f *NomadFake) IssuedTokens() ([]FakeToken, error) {
	var out []FakeToken
	err := f.control("GET", "/__fake/tokens", nil, &out)
	return out, err
}

// VaultTokens lists the issued tokens whose name starts with "vault-".
func (f *NomadFake) VaultTokens() ([]FakeToken, error) {
	all, err := f.IssuedTokens()
	if err != nil {
		return nil, err
	}
	var out []FakeToken
	for _, t := range all {
		if strings.HasPrefix(t.Name, "vault-") {
			out = append(out, t)
		}
	}
	return out, nil
}

// TokenCount counts every token, the bootstrap token included.
func (f *NomadFake) TokenCount() (int, error) {
	var out struct{ Count int }
	err := f.control("GET", "/__fake/token-count", nil, &out)
	return out.Count, err
}

// RequestCount counts received requests matching method and path/route
// ("" = any), failed and dropped ones included.
func (f *NomadFake) RequestCount(method, path string) (int, error) {
	var out struct{ Count int }
	q := url.Values{}
	q.Set("method", method)
	q.Set("path", path)
	err := f.control("GET", "/__fake/requests?"+q.Encode(), nil, &out)
	return out.Count, err
}

// NomadToken reads a token through the fake's Nomad API with the management
// token (GET /v1/acl/token/<accessor>), as an operator would; nil when Nomad
// answers 404 / "ACL token not found".
func (f *NomadFake) NomadToken(accessor string) (*FakeToken, error) {
	req, err := http.NewRequest("GET", f.URL+"/v1/acl/token/"+url.PathEscape(accessor), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Nomad-Token", f.ManagementToken)
	resp, err := f.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /v1/acl/token/%s: %d %s", accessor, resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	var t FakeToken
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// NomadTokens lists tokens through the Nomad API (GET /v1/acl/tokens).
func (f *NomadFake) NomadTokens() ([]FakeToken, error) {
	req, err := http.NewRequest("GET", f.URL+"/v1/acl/tokens", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Nomad-Token", f.ManagementToken)
	resp, err := f.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /v1/acl/tokens: %d %s", resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	var out []FakeToken
	return out, json.Unmarshal(raw, &out)
}
