package hostkit

import (
	"io"
	"strings"
	"sync"

	hclog "github.com/hashicorp/go-hclog"
)

// LogEvent is one structured log call seen by the host logger (host,
// go-plugin, and the plugin's stderr lines as re-logged by go-plugin).
type LogEvent struct {
	Name  string
	Level hclog.Level
	Msg   string
	Args  []interface{}
}

// Log keeps the formatted log text and every structured event.
type Log struct {
	mu     sync.Mutex
	buf    strings.Builder
	events []LogEvent
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// Accept implements hclog.SinkAdapter.
func (l *Log) Accept(name string, level hclog.Level, msg string, args ...interface{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, LogEvent{Name: name, Level: level, Msg: msg, Args: args})
}

// Find returns the events with exactly this message.
func (l *Log) Find(msg string) []LogEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []LogEvent
	for _, e := range l.events {
		if e.Msg == msg {
			out = append(out, e)
		}
	}
	return out
}

// All returns a copy of every event so far.
func (l *Log) All() []LogEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]LogEvent(nil), l.events...)
}

func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// NewLogger returns a trace-level host logger writing into a Log (and also to
// extra when it is not nil), with the Log registered as a sink for assertions.
func NewLogger(extra io.Writer) (hclog.Logger, *Log) {
	l := &Log{}
	var out io.Writer = l
	if extra != nil {
		out = io.MultiWriter(l, extra)
	}
	logger := hclog.NewInterceptLogger(&hclog.LoggerOptions{
		Name:   "host",
		Level:  hclog.Trace,
		Output: out,
	})
	logger.RegisterSink(l)
	return logger, l
}
