// Command bench measures the built plugin executable through the SDK host
// (hostkit: launched as Vault's plugin catalog does, AutoMTLS, multiplexed,
// brokered storage) against the Nomad ACL fake. It is a benchmark, not a
// test: nothing fails on a time. It prints one JSON document on stdout;
// progress and the host/plugin log go to stderr.
//
//	go run ./cmd/bench            # Vault SDK (default)
//	go run -tags openbao ./cmd/bench
//	go run ./cmd/bench -quick     # small counts, for checking the harness
//	bench -only rss,mount          # only some cell groups (see -only)
//
// scripts/bench.mjs runs it, adds the start-up figures and renders the table.
package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	hclog "github.com/hashicorp/go-hclog"

	"github.com/nomad-plugin/conformance/hostkit"
)

// ---------------------------------------------------------------- options

type options struct {
	only         map[string]bool // cell groups to run
	pluginArgs   []string        // catalog args, e.g. --node-options=… for our SEA
	mountRuns    int
	rssLong      int           // cumulative reads before the third RSS sample
	cellDuration time.Duration // measured time per throughput cell
	warmup       time.Duration // unmeasured time before each cell
	rssFirst     int           // requests before the first RSS sample after idle
	rssTotal     int           // requests before the second one (cumulative)
	rssConc      int
	revokeLeases int
	revokeConc   int
	revokeLatMs  int
	concs        []int
	latenciesMs  []int
}

func parseOptions() options {
	o := options{}
	quick := flag.Bool("quick", false, "small counts and 1 s cells (checks the harness, figures meaningless)")
	dur := flag.Duration("cell", 8*time.Second, "measured duration of each throughput cell")
	warm := flag.Duration("warmup", 2*time.Second, "unmeasured warm-up before each throughput cell")
	flag.IntVar(&o.rssFirst, "rss-first", 10000, "config/lease reads before the first RSS sample")
	flag.IntVar(&o.rssTotal, "rss-total", 50000, "config/lease reads (cumulative) before the second RSS sample")
	flag.IntVar(&o.rssConc, "rss-concurrency", 16, "concurrency of the RSS request batches")
	flag.IntVar(&o.revokeLeases, "revoke-leases", 5000, "leases issued, then revoked, in the revoke benchmark")
	flag.IntVar(&o.revokeConc, "revoke-concurrency", 16, "concurrency of the revoke benchmark")
	flag.IntVar(&o.revokeLatMs, "revoke-nomad-latency-ms", 0, "added Nomad fake latency in the revoke benchmark")
	only := flag.String("only", strings.Join(cellGroups, ","), "comma-separated cell groups to run: "+strings.Join(cellGroups, ", ")+
		" (mount: -mount-runs fresh launches; rss: idle and after N config/lease reads; reads: config/lease cells; creds: creds cells + RSS; revoke: revoke storm + RSS)")
	flag.Func("plugin-arg", "one catalog arg given to the plugin, repeatable (e.g. -plugin-arg '--node-options=--max-semi-space-size=1 --optimize-for-size')", func(v string) error {
		o.pluginArgs = append(o.pluginArgs, v)
		return nil
	})
	flag.IntVar(&o.mountRuns, "mount-runs", 5, "fresh launches timed by the mount cell (launch incl. the host's checksum → handshake → Setup → first config/lease read answered)")
	flag.IntVar(&o.rssLong, "rss-long", 250000, "config/lease reads (cumulative) before the third RSS sample (0: none)")
	concs := flag.String("concurrency", "1,16,64", "concurrency levels of the throughput cells")
	lats := flag.String("nomad-latency-ms", "0,5", "added Nomad fake latencies for the creds cells")
	flag.Parse()
	o.cellDuration, o.warmup = *dur, *warm
	o.only = map[string]bool{}
	for _, g := range strings.Split(*only, ",") {
		if g = strings.TrimSpace(g); g == "" {
			continue
		}
		if !contains(cellGroups, g) {
			fatal(fmt.Errorf("-only: unknown cell group %q (known: %s)", g, strings.Join(cellGroups, ", ")))
		}
		o.only[g] = true
	}
	o.concs = intList(*concs)
	o.latenciesMs = intList(*lats)
	if *quick {
		o.cellDuration, o.warmup = time.Second, 200*time.Millisecond
		o.rssFirst, o.rssTotal, o.revokeLeases = 1000, 5000, 500
		if o.rssLong > 0 {
			o.rssLong = 10000
		}
		o.mountRuns = min(o.mountRuns, 2)
	}
	if o.rssLong > 0 && o.rssLong <= o.rssTotal {
		fatal(fmt.Errorf("-rss-long %d must exceed -rss-total %d (or be 0)", o.rssLong, o.rssTotal))
	}
	return o
}

// cellGroups are what -only selects, in the order they run.
var cellGroups = []string{"mount", "rss", "reads", "creds", "revoke"}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func intList(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			fatal(fmt.Errorf("bad number %q in %q", f, s))
		}
		out = append(out, n)
	}
	return out
}

// ---------------------------------------------------------------- results

type Result struct {
	SDK        string       `json:"sdk"`
	GoVersion  string       `json:"go_version"`
	GOMAXPROCS int          `json:"gomaxprocs"`
	Options    OptionsOut   `json:"options"`
	Plugin     PluginInfo   `json:"plugin"`
	Only       []string     `json:"only"`
	Mounts     []MountRun   `json:"mounts,omitempty"`
	RSS        []RSSPoint   `json:"rss"`
	Cells      []Cell       `json:"throughput"`
	Revoke     *RevokeBench `json:"revoke"`
	Log        LogSummary   `json:"log"`
	Shutdown   *Shutdown    `json:"shutdown,omitempty"`
	// PluginExit is the plugin's own "plugin exiting" log entry.
	PluginExit map[string]interface{} `json:"plugin_exit_log,omitempty"`
	TotalSec   float64                `json:"total_s"`
}

type OptionsOut struct {
	CellSeconds   float64 `json:"cell_s"`
	WarmupSeconds float64 `json:"warmup_s"`
	RSSConc       int     `json:"rss_concurrency"`
}

type PluginInfo struct {
	Binary       string  `json:"binary"`
	Sha256       string  `json:"sha256"`
	Version      string  `json:"version"`
	Pid          int     `json:"pid"`
	Multiplexed  bool    `json:"multiplexed"`
	Processes    int     `json:"processes_started"`
	Reloads      int     `json:"reloads"`
	MountSeconds float64 `json:"mount_s"` // spawn → handshake → Setup → Initialize
}

// MountRun is one fresh launch as Vault mounts a plugin: the catalog's run
// (go-plugin's SecureConfig computes the SHA-256 of the whole file first),
// the handshake and TLS, Setup, Initialize, then one config/lease read answered.
type MountRun struct {
	TotalMs     float64 `json:"total_ms"`      // launch → first read answered
	MountedMs   float64 `json:"mounted_ms"`    // launch → Setup and Initialize returned
	FirstReadMs float64 `json:"first_read_ms"` // the first read alone
	ChecksumMs  float64 `json:"checksum_ms"`   // a SHA-256 of the file alone, timed just before (part of total_ms's launch)
	Error       string  `json:"error,omitempty"`
}

type RSSPoint struct {
	Label    string `json:"label"`
	Requests int64  `json:"requests"` // requests sent to the plugin so far (all kinds)
	VmRSSkB  int64  `json:"vmrss_kb"`
	VmHWMkB  int64  `json:"vmhwm_kb"`
	AnonkB   int64  `json:"rss_anon_kb"`
	// IdleCPUPct is the plugin's CPU use during the idle wait before this
	// sample (only for the idle samples).
	IdleCPUPct *float64 `json:"idle_cpu_pct,omitempty"`
}

type Cell struct {
	Name        string   `json:"name"` // "config/lease read" | "creds"
	NomadLatMs  *int     `json:"nomad_latency_ms"`
	Concurrency int      `json:"concurrency"`
	Requests    int      `json:"requests"`
	Errors      int      `json:"errors"`
	FirstError  string   `json:"first_error,omitempty"`
	Seconds     float64  `json:"duration_s"`
	PerSec      float64  `json:"req_per_s"`
	P50ms       float64  `json:"p50_ms"`
	P90ms       float64  `json:"p90_ms"`
	P99ms       float64  `json:"p99_ms"`
	Maxms       float64  `json:"max_ms"`
	PluginCPUms float64  `json:"plugin_cpu_ms_per_req"` // plugin user+sys CPU / request
	NomadPerReq float64  `json:"nomad_requests_per_req,omitempty"`
	Cleanup     *Cleanup `json:"cleanup,omitempty"`
}

// Cleanup is the untimed revoke after a creds cell.
type Cleanup struct {
	Revoked    int     `json:"revoked"`
	Errors     int     `json:"errors"`
	Seconds    float64 `json:"duration_s"`
	VaultLeft  int     `json:"vault_tokens_left"`
	FirstError string  `json:"first_error,omitempty"`
}

type Phase struct {
	Count      int     `json:"count"`
	Errors     int     `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	Seconds    float64 `json:"duration_s"`
	PerSec     float64 `json:"per_s"`
	P50ms      float64 `json:"p50_ms"`
	P90ms      float64 `json:"p90_ms"`
	P99ms      float64 `json:"p99_ms"`
	Maxms      float64 `json:"max_ms"`
}

type RevokeBench struct {
	Leases          int   `json:"leases"`
	Concurrency     int   `json:"concurrency"`
	NomadLatMs      int   `json:"nomad_latency_ms"`
	Issue           Phase `json:"issue"`
	Revoke          Phase `json:"revoke"`
	LeasesLeft      int   `json:"leases_left"`
	VaultTokensLeft int   `json:"vault_tokens_left"` // /__fake/tokens, name vault-*
	NomadTokensAPI  int   `json:"nomad_tokens_api"`  // GET /v1/acl/tokens (management token included)
	DeleteRequests  int   `json:"nomad_delete_requests"`
}

type LogSummary struct {
	Warnings int      `json:"warnings"`
	Errors   int      `json:"errors"`
	Samples  []string `json:"samples,omitempty"`
}

type Shutdown struct {
	Seconds  float64 `json:"duration_s"`
	Exited   bool    `json:"exited"`
	Graceful bool    `json:"graceful"` // exited within go-plugin's 2 s
}

// ---------------------------------------------------------------- cleanup on any exit

var (
	cleanMu  sync.Mutex
	cleanups []func()
	cleaned  bool
)

func atExit(f func()) {
	cleanMu.Lock()
	defer cleanMu.Unlock()
	cleanups = append(cleanups, f)
}

func runCleanups() {
	cleanMu.Lock()
	if cleaned {
		cleanMu.Unlock()
		return
	}
	cleaned = true
	fs := cleanups
	cleanMu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "bench: %v\n", err)
	runCleanups()
	os.Exit(1)
}

func logf(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// ---------------------------------------------------------------- log sink

type sink struct {
	mu       sync.Mutex
	warnings int
	errors   int
	samples  []string
	exit     map[string]interface{}
}

func (s *sink) Accept(name string, level hclog.Level, msg string, args ...interface{}) {
	if msg == "plugin exiting" {
		// The plugin's own summary on shutdown (requests, heap, RSS, Nomad calls).
		m := map[string]interface{}{}
		for i := 0; i+1 < len(args); i += 2 {
			if k, ok := args[i].(string); ok {
				m[k] = args[i+1]
			}
		}
		s.mu.Lock()
		s.exit = m
		s.mu.Unlock()
	}
	if level < hclog.Warn {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if level == hclog.Warn {
		s.warnings++
	} else {
		s.errors++
	}
	if len(s.samples) < 8 {
		line := fmt.Sprintf("[%s] %s: %s %v", level, name, msg, args)
		if len(line) > 300 {
			line = line[:300] + "…"
		}
		s.samples = append(s.samples, line)
	}
}

func (s *sink) summary() LogSummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	return LogSummary{Warnings: s.warnings, Errors: s.errors, Samples: append([]string(nil), s.samples...)}
}

// ---------------------------------------------------------------- /proc

func procStatus(pid int) (rss, hwm, anon int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1, -1, -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		case "RssAnon":
			anon = n
		}
	}
	return
}

// procCPU is the process's user+system CPU time.
func procCPU(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state); utime, stime are fields 14, 15
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const hz = 100 // USER_HZ on Linux
	return time.Duration(u+st) * time.Second / hz
}

// ---------------------------------------------------------------- load

type op func(ctx context.Context) error

type loadResult struct {
	n        int
	errors   int
	firstErr string
	elapsed  time.Duration
	lat      []time.Duration
}

// run drives f at the given concurrency, either `count` times in all
// (count > 0) or until `dur` has passed.
func run(conc, count int, dur time.Duration, f op) loadResult {
	var remaining atomic.Int64
	remaining.Store(int64(count))
	var errs atomic.Int64
	var firstErr atomic.Value
	lats := make([][]time.Duration, conc)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(dur)
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			local := make([]time.Duration, 0, 1024)
			for {
				if count > 0 {
					if remaining.Add(-1) < 0 {
						break
					}
				} else if !time.Now().Before(deadline) {
					break
				}
				ctx, cancel := context.WithTimeout(context.Background(), hostkit.CallTimeout)
				t0 := time.Now()
				err := f(ctx)
				local = append(local, time.Since(t0))
				cancel()
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
			lats[w] = local
		}(w)
	}
	wg.Wait()
	r := loadResult{elapsed: time.Since(start), errors: int(errs.Load())}
	if v := firstErr.Load(); v != nil {
		r.firstErr = v.(string)
	}
	for _, l := range lats {
		r.lat = append(r.lat, l...)
	}
	r.n = len(r.lat)
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	return r
}

func (r loadResult) pct(q float64) float64 {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(r.lat)))) - 1
	if i < 0 {
		i = 0
	}
	return ms(r.lat[i])
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

func (r loadResult) phase() Phase {
	return Phase{
		Count: r.n, Errors: r.errors, FirstError: r.firstErr,
		Seconds: round(r.elapsed.Seconds(), 3), PerSec: round(float64(r.n)/r.elapsed.Seconds(), 1),
		P50ms: r.pct(0.5), P90ms: r.pct(0.9), P99ms: r.pct(0.99), Maxms: r.pct(1),
	}
}

// thousands formats n as 10,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// ---------------------------------------------------------------- bench

type bench struct {
	opts options
	m    *hostkit.Mount
	// exp is fetched once: Mount.Expiration() takes the mount's write lock,
	// which would wait for every request in flight (they hold its read lock)
	// and stall new ones, serialising the load generator itself.
	exp   *hostkit.Expiration
	sent  atomic.Int64
	res   *Result
	role  string
	fakes []*hostkit.NomadFake
}

func (b *bench) pid() int { return b.m.Client().Proc().Pid }

func (b *bench) rss(label string) { b.sample(label, nil) }

func (b *bench) sample(label string, idleCPU *float64) {
	rss, hwm, anon := procStatus(b.pid())
	p := RSSPoint{Label: label, Requests: b.sent.Load(), VmRSSkB: rss, VmHWMkB: hwm, AnonkB: anon, IdleCPUPct: idleCPU}
	b.res.RSS = append(b.res.RSS, p)
	extra := ""
	if idleCPU != nil {
		extra = fmt.Sprintf(", idle CPU %.1f%%", *idleCPU)
	}
	logf("RSS %-34s after %7d requests: VmRSS %d kB (HWM %d kB)%s", label, p.Requests, rss, hwm, extra)
}

// idle waits d without requests and samples RSS and the CPU used meanwhile.
func (b *bench) idle(d time.Duration, label string) {
	cpu0, t0 := procCPU(b.pid()), time.Now()
	time.Sleep(d)
	pct := round(float64(procCPU(b.pid())-cpu0)/float64(time.Since(t0))*100, 1)
	b.sample(label, &pct)
}

func respErr(resp *hostkit.Response, err error) error {
	if err != nil {
		return err
	}
	if resp != nil && resp.IsError() {
		return resp.Error()
	}
	return nil
}

func (b *bench) readLease(ctx context.Context) error {
	b.sent.Add(1)
	return respErr(b.m.Handle(ctx, hostkit.OpRead, "config/lease", nil))
}

// issue reads creds/<role> and registers the lease as Vault's expiration
// manager does (the registration is host work, inside the measured time).
func (b *bench) issue(ctx context.Context) error {
	b.sent.Add(1)
	req := b.m.Request(hostkit.OpRead, "creds/"+b.role, nil)
	resp, err := b.m.HandleRequest(ctx, req)
	if err := respErr(resp, err); err != nil {
		return err
	}
	if resp == nil || resp.Secret == nil {
		return errors.New("creds: no secret in the response")
	}
	_, err = b.exp.Register(req, resp)
	return err
}

// revokeAll sends every live lease back for revoke as Vault does on unmount
// (the stored secret, with its internal data, lease_id and issue_time).
func (b *bench) revokeAll(conc int) loadResult {
	ids := b.exp.Live()
	var next atomic.Int64
	return run(conc, len(ids), 0, func(ctx context.Context) error {
		i := next.Add(1) - 1
		b.sent.Add(1)
		return b.exp.Revoke(ctx, ids[i])
	})
}

func (b *bench) write(path string, data map[string]interface{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), hostkit.CallTimeout)
	defer cancel()
	b.sent.Add(2) // existence check + request
	return respErr(b.m.Write(ctx, path, data))
}

func (b *bench) startFake(latencyMs int) (*hostkit.NomadFake, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f, err := hostkit.StartNomadFake(ctx, hostkit.NomadFakeOptions{LatencyMs: latencyMs, Stderr: os.Stderr})
	if err != nil {
		return nil, err
	}
	atExit(f.Stop)
	if err := b.write("config/access", map[string]interface{}{"address": f.URL, "token": f.ManagementToken}); err != nil {
		f.Stop()
		return nil, fmt.Errorf("config/access: %w", err)
	}
	return f, nil
}

func fakeRequests(f *hostkit.NomadFake) int {
	resp, err := http.Get(f.ControlURL + "/__fake/state")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var st struct {
		RouteCounts map[string]int `json:"routeCounts"`
	}
	if json.NewDecoder(resp.Body).Decode(&st) != nil {
		return -1
	}
	n := 0
	for _, c := range st.RouteCounts {
		n += c
	}
	return n
}

func (b *bench) cell(name string, lat *int, conc int, f op, fake *hostkit.NomadFake) Cell {
	if b.opts.warmup > 0 {
		run(conc, 0, b.opts.warmup, f)
	}
	var nomadBefore int
	if fake != nil {
		nomadBefore = fakeRequests(fake)
	}
	cpu0 := procCPU(b.pid())
	r := run(conc, 0, b.opts.cellDuration, f)
	cpu := procCPU(b.pid()) - cpu0
	c := Cell{
		Name: name, NomadLatMs: lat, Concurrency: conc, Requests: r.n, Errors: r.errors, FirstError: r.firstErr,
		Seconds: round(r.elapsed.Seconds(), 3), PerSec: round(float64(r.n)/r.elapsed.Seconds(), 1),
		P50ms: r.pct(0.5), P90ms: r.pct(0.9), P99ms: r.pct(0.99), Maxms: r.pct(1),
	}
	if r.n > 0 {
		c.PluginCPUms = round(float64(cpu)/1e6/float64(r.n), 4)
	}
	if fake != nil && r.n > 0 {
		if after := fakeRequests(fake); after >= 0 && nomadBefore >= 0 {
			c.NomadPerReq = round(float64(after-nomadBefore)/float64(r.n), 3)
		}
	}
	latS := "-"
	if lat != nil {
		latS = fmt.Sprintf("%d ms", *lat)
	}
	logf("%-18s nomad %-5s c=%-3d %7d req in %.2fs = %8.1f req/s  p50 %.3f ms  p99 %.3f ms  max %.3f ms  errors %d",
		name, latS, conc, r.n, r.elapsed.Seconds(), c.PerSec, c.P50ms, c.P99ms, c.Maxms, r.errors)
	if r.firstErr != "" {
		logf("  first error: %s", r.firstErr)
	}
	return c
}

func main() {
	opts := parseOptions()
	started := time.Now()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sigs
		logf("got %v: stopping the plugin and the Nomad fake", s)
		runCleanups()
		os.Exit(130)
	}()
	if os.Getenv("BENCH_EXIT_ON_STDIN_EOF") == "1" {
		// The parent keeps our stdin open; when it dies, stop everything.
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			logf("stdin closed (parent gone): stopping")
			runCleanups()
			os.Exit(130)
		}()
	}

	res := &Result{
		SDK: hostkit.SDKName, GoVersion: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		Options: OptionsOut{CellSeconds: opts.cellDuration.Seconds(), WarmupSeconds: opts.warmup.Seconds(), RSSConc: opts.rssConc},
	}

	// Host logger: Info and up to stderr (as a Vault server at its default
	// level would log them); warnings and errors counted.
	counts := &sink{}
	logger := hclog.NewInterceptLogger(&hclog.LoggerOptions{Name: "host", Level: hclog.Info, Output: os.Stderr})
	logger.RegisterSink(counts)

	bin, sum, err := hostkit.BinaryInfo(hostkit.PluginBinary())
	if err != nil {
		fatal(err)
	}
	res.Plugin.Binary, res.Plugin.Sha256 = bin, hex.EncodeToString(sum)
	for _, g := range cellGroups {
		if opts.only[g] {
			res.Only = append(res.Only, g)
		}
	}
	catOpts := hostkit.CatalogOptions{Command: bin, Sha256: sum, Args: opts.pluginArgs, Logger: logger}

	// 1. mount: fresh launches, each in its own catalog (no multiplexed
	// process to reuse), stopped before the next.
	if opts.only["mount"] {
		for i := 0; i < opts.mountRuns; i++ {
			mr := mountOnce(catOpts, logger)
			res.Mounts = append(res.Mounts, mr)
			if mr.Error != "" {
				fatal(fmt.Errorf("mount run %d: %s", i+1, mr.Error))
			}
			logf("mount run %d/%d: %.1f ms to the first config/lease read answered (mounted %.1f ms, read %.1f ms; a SHA-256 of the file alone %.1f ms)",
				i+1, opts.mountRuns, mr.TotalMs, mr.MountedMs, mr.FirstReadMs, mr.ChecksumMs)
		}
	}
	needMount := opts.only["rss"] || opts.only["reads"] || opts.only["creds"] || opts.only["revoke"]
	if !needMount {
		runCleanups()
		finish(res, counts, started)
		return
	}

	cat := hostkit.NewCatalog(catOpts)
	atExit(cat.Close)

	t0 := time.Now()
	mctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	m, err := hostkit.NewMount(mctx, cat, logger, nil)
	cancel()
	if err != nil {
		fatal(err)
	}
	res.Plugin.MountSeconds = round(time.Since(t0).Seconds(), 3)
	b := &bench{opts: opts, m: m, exp: m.Expiration(), res: res, role: "bench"}
	b.sent.Add(2) // Setup, Initialize
	proc := m.Client().Proc()
	res.Plugin.Pid, res.Plugin.Multiplexed = proc.Pid, proc.Multiplexed
	if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", proc.Pid)); err != nil || filepath.Clean(exe) != bin {
		logf("warning: pid %d is %q, not the plugin %s (%v)", proc.Pid, exe, bin, err)
	}
	if v, ok := m.B().(hostkit.PluginVersioner); ok {
		if !hostkit.Within(hostkit.CallTimeout, func() { res.Plugin.Version = v.PluginVersion().Version }) {
			logf("warning: PluginVersion did not answer")
		}
	}
	logf("plugin %s (version %q) pid %d, multiplexed %v, mounted in %.3fs; %s SDK, %s, GOMAXPROCS %d",
		bin, res.Plugin.Version, proc.Pid, proc.Multiplexed, res.Plugin.MountSeconds, hostkit.SDKName, runtime.Version(), runtime.GOMAXPROCS(0))

	if err := b.write("config/lease", map[string]interface{}{"ttl": "1h", "max_ttl": "2h"}); err != nil {
		fatal(fmt.Errorf("config/lease: %w", err))
	}

	// 2. RSS: idle, after rssFirst, rssTotal and rssLong config/lease reads.
	if opts.only["rss"] {
		b.idle(2*time.Second, "idle after mount")
		before := b.sent.Load()
		errs := 0
		done := 0
		for _, upTo := range []int{opts.rssFirst, opts.rssTotal, opts.rssLong} {
			if upTo <= done {
				continue
			}
			r := run(opts.rssConc, upTo-done, 0, b.readLease)
			done = upTo
			errs += r.errors
			logf("%d config/lease reads at c=%d: %.1f req/s, errors %d %s", r.n, opts.rssConc, float64(r.n)/r.elapsed.Seconds(), r.errors, r.firstErr)
			b.rss(fmt.Sprintf("after %s config/lease reads", thousands(upTo)))
		}
		if errs > 0 {
			logf("warning: %d errors during the RSS batches (%d requests sent since idle)", errs, b.sent.Load()-before)
		}
		b.idle(2*time.Second, "after 2 s idle")
	}

	// 3a. storage-only path.
	if opts.only["reads"] {
		for _, c := range opts.concs {
			res.Cells = append(res.Cells, b.cell("config/lease read", nil, c, b.readLease, nil))
		}
		b.rss("after config/lease cells")
	}

	// 3b. creds against the fake, one fresh fake per cell; the issued
	// leases are revoked (untimed) after each cell.
	roleWritten := false
	writeRole := func() {
		if !roleWritten {
			if err := b.write("role/"+b.role, map[string]interface{}{"policies": "bench", "ttl": "15m"}); err != nil {
				fatal(fmt.Errorf("role: %w", err))
			}
			roleWritten = true
		}
	}
	if opts.only["creds"] {
		for _, lat := range opts.latenciesMs {
			for _, c := range opts.concs {
				fake, err := b.startFake(lat)
				if err != nil {
					fatal(err)
				}
				writeRole()
				l := lat
				cell := b.cell("creds", &l, c, b.issue, fake)
				t := time.Now()
				rv := b.revokeAll(16)
				left, _ := fake.VaultTokens()
				cell.Cleanup = &Cleanup{Revoked: rv.n - rv.errors, Errors: rv.errors, FirstError: rv.firstErr,
					Seconds: round(time.Since(t).Seconds(), 3), VaultLeft: len(left)}
				if rv.errors > 0 || len(left) > 0 {
					logf("warning: cleanup after the cell: %d revoke errors (%s), %d vault-* tokens left", rv.errors, rv.firstErr, len(left))
				}
				res.Cells = append(res.Cells, cell)
				fake.Stop()
			}
		}
		b.rss("after creds cells")
	}

	// 4. revoke of many leases, as on unmount.
	var fake *hostkit.NomadFake
	if opts.only["revoke"] {
		fake, err = b.startFake(opts.revokeLatMs)
		if err != nil {
			fatal(err)
		}
		writeRole()
		res.Revoke = b.revokeStorm(fake)
		b.rss("after revoke benchmark")
	}

	res.Plugin.Processes = cat.ProcessCount()
	res.Plugin.Reloads = m.Reloads()

	// Unmount-style shutdown: Cleanup → GRPCController.Shutdown.
	t := time.Now()
	ctx, cancel2 := context.WithTimeout(context.Background(), time.Minute)
	if err := m.Cleanup(ctx); err != nil {
		logf("warning: Cleanup: %v", err)
	}
	cancel2()
	select {
	case <-proc.Stopped():
	case <-time.After(10 * time.Second):
	}
	res.Shutdown = &Shutdown{Seconds: round(time.Since(t).Seconds(), 3), Exited: proc.Exited(), Graceful: proc.Exited() && proc.KillTook() < 2*time.Second}
	if fake != nil {
		fake.Stop()
	}
	runCleanups()
	finish(res, counts, started)
}

// mountOnce times one launch → first config/lease read answered, then
// unmounts and waits for the process to exit.
func mountOnce(catOpts hostkit.CatalogOptions, logger hclog.Logger) MountRun {
	var mr MountRun
	t := time.Now()
	if _, _, err := hostkit.BinaryInfo(catOpts.Command); err != nil {
		mr.Error = err.Error()
		return mr
	}
	mr.ChecksumMs = ms(time.Since(t))
	cat := hostkit.NewCatalog(catOpts)
	defer cat.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	t0 := time.Now()
	m, err := hostkit.NewMount(ctx, cat, logger, nil)
	if err != nil {
		mr.Error = err.Error()
		return mr
	}
	mounted := time.Since(t0)
	readErr := respErr(m.Handle(ctx, hostkit.OpRead, "config/lease", nil))
	total := time.Since(t0)
	mr.TotalMs, mr.MountedMs, mr.FirstReadMs = ms(total), ms(mounted), ms(total-mounted)
	if readErr != nil {
		mr.Error = "first config/lease read: " + readErr.Error()
	}
	proc := m.Client().Proc()
	if err := m.Cleanup(ctx); err != nil {
		logf("warning: Cleanup after a mount run: %v", err)
	}
	select {
	case <-proc.Stopped():
	case <-time.After(10 * time.Second):
		logf("warning: the plugin of a mount run did not exit within 10 s after Cleanup")
	}
	return mr
}

func (b *bench) revokeStorm(fake *hostkit.NomadFake) *RevokeBench {
	opts := b.opts
	rb := &RevokeBench{Leases: opts.revokeLeases, Concurrency: opts.revokeConc, NomadLatMs: opts.revokeLatMs}
	ir := run(opts.revokeConc, opts.revokeLeases, 0, b.issue)
	rb.Issue = ir.phase()
	logf("issued %d leases at c=%d in %.2fs (%.1f/s), errors %d %s", ir.n-ir.errors, opts.revokeConc, ir.elapsed.Seconds(), rb.Issue.PerSec, ir.errors, ir.firstErr)
	if vt, err := fake.VaultTokens(); err == nil {
		logf("vault-* tokens in the fake before revoke: %d", len(vt))
	}
	del0, _ := fake.RequestCount("DELETE", "")
	rr := b.revokeAll(opts.revokeConc)
	rb.Revoke = rr.phase()
	logf("revoked %d leases at c=%d in %.2fs (%.1f/s), errors %d %s", rr.n-rr.errors, opts.revokeConc, rr.elapsed.Seconds(), rb.Revoke.PerSec, rr.errors, rr.firstErr)
	rb.LeasesLeft = len(b.exp.Live())
	if vt, err := fake.VaultTokens(); err == nil {
		rb.VaultTokensLeft = len(vt)
	} else {
		rb.VaultTokensLeft = -1
		logf("warning: /__fake/tokens: %v", err)
	}
	if all, err := fake.NomadTokens(); err == nil {
		rb.NomadTokensAPI = len(all)
	} else {
		rb.NomadTokensAPI = -1
		logf("warning: GET /v1/acl/tokens: %v", err)
	}
	if del1, err := fake.RequestCount("DELETE", ""); err == nil {
		rb.DeleteRequests = del1 - del0
	}
	logf("after revoke: %d leases left, %d vault-* tokens in the fake, %d tokens listed by /v1/acl/tokens, %d DELETE requests",
		rb.LeasesLeft, rb.VaultTokensLeft, rb.NomadTokensAPI, rb.DeleteRequests)
	return rb
}

func finish(res *Result, counts *sink, started time.Time) {
	res.Log = counts.summary()
	counts.mu.Lock()
	res.PluginExit = counts.exit
	counts.mu.Unlock()
	res.TotalSec = round(time.Since(started).Seconds(), 1)
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(res); err != nil {
		fatal(err)
	}
}
