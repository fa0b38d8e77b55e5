package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/testkit"
)

// syncBuffer is an io.Writer the server's goroutines may write to while the
// test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// logLine returns the first JSON log line whose msg is msg.
func (b *syncBuffer) logLine(msg string) (map[string]any, bool) {
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == msg {
			return line, true
		}
	}
	return nil, false
}

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "forbear.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestVersion(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"version", "--version", "-v"} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{arg}, nil, &stdout, &stderr)
		if code != 0 {
			t.Errorf("%s: exit %d, want 0 (stderr %q)", arg, code, stderr.String())
		}
		if want := "forbear " + version + "\n"; stdout.String() != want {
			t.Errorf("%s: stdout %q, want %q", arg, stdout.String(), want)
		}
	}
}

func TestCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		want       int
		wantStdout string
		wantStderr []string
	}{
		{name: "no command", args: nil, want: 2, wantStderr: []string{"Usage:", "forbear serve"}},
		{name: "unknown command", args: []string{"frobnicate"}, want: 2, wantStderr: []string{`unknown command "frobnicate"`, "Usage:", "forbear version"}},
		{name: "help", args: []string{"help"}, want: 0, wantStdout: "Usage:"},
		{name: "-h", args: []string{"-h"}, want: 0, wantStdout: "forbear serve"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			if got := run(context.Background(), tt.args, nil, &stdout, &stderr); got != tt.want {
				t.Errorf("exit %d, want %d", got, tt.want)
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout %q, want it to contain %q", stdout.String(), tt.wantStdout)
			}
			for _, s := range tt.wantStderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr %q, want it to contain %q", stderr.String(), s)
				}
			}
		})
	}
}

// Each of these must fail before anything starts: exit 2 and a message
// naming what is wrong.
func TestServeBadConfig(t *testing.T) {
	t.Parallel()
	const inProcess = "nats: {embedded: {listen: \"\"}}\n"
	tests := []struct {
		name       string
		config     string // file content; "" means no --config
		args       []string
		environ    []string
		wantStderr []string
	}{
		{
			name:       "misspelt key",
			config:     inProcess + "scheduler:\n  sweeep: \"@every 1m\"\n",
			wantStderr: []string{"sweeep"},
		},
		{
			name:       "bad value",
			config:     inProcess + "http:\n  listen: nowhere\n",
			wantStderr: []string{"http.listen", "nowhere"},
		},
		{
			name:       "bad timezone",
			config:     inProcess + "scheduler:\n  timezone: Atlantis/Capital\n",
			wantStderr: []string{"scheduler.timezone"},
		},
		{
			name:       "bad duration",
			config:     inProcess + "dispatcher:\n  ack_wait: whenever\n",
			wantStderr: []string{"whenever"},
		},
		{
			name:       "missing file",
			args:       []string{"--config", "/nonexistent/forbear.yaml"},
			wantStderr: []string{"/nonexistent/forbear.yaml"},
		},
		{
			name:       "bad env",
			config:     inProcess,
			environ:    []string{"FORBEAR_PROVIDERS_SMS_CONCURRENCY=abc"},
			wantStderr: []string{"FORBEAR_PROVIDERS_SMS_CONCURRENCY"},
		},
		{
			name:       "open API on the network",
			config:     inProcess,
			args:       []string{"--http", "0.0.0.0:0"},
			wantStderr: []string{"auth.tokens"},
		},
		{
			name:       "bad flag value overrides a good file",
			config:     inProcess + "http:\n  listen: 127.0.0.1:0\n",
			args:       []string{"--http", "bogus"},
			wantStderr: []string{"http.listen", "bogus"},
		},
		{
			name:       "unknown flag",
			args:       []string{"--colour", "blue"},
			wantStderr: []string{"colour"},
		},
		{
			name:       "bad log level",
			config:     inProcess,
			args:       []string{"--log-level", "chatty"},
			wantStderr: []string{"log.level"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"serve", "--data-dir", t.TempDir()}
			if tt.config != "" {
				args = append(args, "--config", writeConfig(t, tt.config))
			}
			args = append(args, tt.args...)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var stdout, stderr syncBuffer
			if got := run(ctx, args, tt.environ, &stdout, &stderr); got != 2 {
				t.Errorf("exit %d, want 2; stderr:\n%s", got, stderr.String())
			}
			for _, s := range tt.wantStderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr does not name %q:\n%s", s, stderr.String())
				}
			}
		})
	}
}

// TestServe starts the real server with settings at every level and checks
// that flags beat env beat file, and that cancelling the context (SIGTERM in
// main) makes run return 0 within 10 s.
func TestServe(t *testing.T) {
	t.Parallel()
	// Addresses that must lose are held by a listener: if one of them won,
	// the server could not bind it and run would exit 1.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = busy.Close() })
	taken := busy.Addr().String()

	type level struct{ listen, dataDir string }
	tests := []struct {
		name            string
		file, env, flag level
		want            string // which level's data dir wins: file, env or flag
	}{
		{
			name: "file",
			file: level{listen: "127.0.0.1:0", dataDir: "file"},
			want: "file",
		},
		{
			name: "env beats file",
			file: level{listen: taken, dataDir: "file"},
			env:  level{listen: "127.0.0.1:0", dataDir: "env"},
			want: "env",
		},
		{
			name: "flags beat env",
			file: level{listen: taken, dataDir: "file"},
			env:  level{listen: taken, dataDir: "env"},
			flag: level{listen: "127.0.0.1:0", dataDir: "flag"},
			want: "flag",
		},
		{
			name: "flags beat file",
			file: level{listen: taken, dataDir: "file"},
			flag: level{listen: "127.0.0.1:0", dataDir: "flag"},
			want: "flag",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			dir := func(name string) string { return filepath.Join(root, name) }

			cfg := "nats:\n  embedded:\n    listen: \"\"\n"
			if tt.file.listen != "" {
				cfg += "http:\n  listen: " + tt.file.listen + "\n"
			}
			if tt.file.dataDir != "" {
				cfg += "data_dir: " + dir(tt.file.dataDir) + "\n"
			}
			args := []string{"serve", "--config", writeConfig(t, cfg)}
			if tt.flag.listen != "" {
				args = append(args, "--http", tt.flag.listen)
			}
			if tt.flag.dataDir != "" {
				args = append(args, "--data-dir", dir(tt.flag.dataDir))
			}
			environ := []string{"HOME=/nonexistent"}
			if tt.env.listen != "" {
				environ = append(environ, "FORBEAR_HTTP_LISTEN="+tt.env.listen)
			}
			if tt.env.dataDir != "" {
				environ = append(environ, "FORBEAR_DATA_DIR="+dir(tt.env.dataDir))
			}

			var stdout, stderr syncBuffer
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan int, 1)
			go func() { done <- run(ctx, args, environ, &stdout, &stderr) }()
			t.Cleanup(func() {
				cancel()
				<-done
			})

			var listening map[string]any
			testkit.Eventually(t, 30*time.Second, "the \"HTTP API listening\" log line", func() bool {
				select {
				case code := <-done:
					done <- code
					t.Fatalf("run returned %d before listening; stderr:\n%s", code, stderr.String())
				default:
				}
				var ok bool
				listening, ok = stderr.logLine("HTTP API listening")
				return ok
			})
			addr, _ := listening["listen"].(string)
			host, port, err := net.SplitHostPort(addr)
			if err != nil || host != "127.0.0.1" || port == "0" || addr == taken {
				t.Errorf("listening on %q, want 127.0.0.1 and a free port (not %s)", addr, taken)
			}
			nats, ok := stderr.logLine("embedded NATS with JetStream started")
			if !ok {
				t.Fatalf("no NATS start log line; stderr:\n%s", stderr.String())
			}
			if got, want := nats["store_dir"], filepath.Join(dir(tt.want), "nats"); got != want {
				t.Errorf("store_dir = %v, want %s (the %s value)", got, want, tt.want)
			}
			if _, err := os.Stat(filepath.Join(dir(tt.want), "nats")); err != nil {
				t.Errorf("data dir not used: %v", err)
			}
			if _, ok := stderr.logLine("no auth tokens configured: the API is open to anyone who can reach " + addr + " (loopback only)"); !ok {
				t.Errorf("no open-mode warning; stderr:\n%s", stderr.String())
			}

			start := time.Now()
			cancel()
			select {
			case code := <-done:
				done <- code
				if code != 0 {
					t.Errorf("exit %d after cancel, want 0; stderr:\n%s", code, stderr.String())
				}
				if d := time.Since(start); d > 10*time.Second {
					t.Errorf("stopping took %s, want under 10s", d)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("run did not return within 10s of cancel; stderr:\n%s", stderr.String())
			}
			if _, ok := stderr.logLine("stopped"); !ok {
				t.Errorf("no \"stopped\" log line; stderr:\n%s", stderr.String())
			}
			if stdout.String() != "" {
				t.Errorf("serve wrote to stdout: %q", stdout.String())
			}
		})
	}
}

// TestBenchJSON: forbear bench --json prints one JSON document with the
// run's figures, the writes per reminder among them, and nothing else.
func TestBenchJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the bench")
	}
	t.Parallel()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"bench", "--reminders", "100", "--concurrency", "8", "--cases", "0", "--events", "0", "--json", "--dir", t.TempDir()},
		nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	var doc struct {
		Reminders int `json:"reminders"`
		EndToEnd  struct {
			Concurrency int `json:"concurrency"`
			Storage     struct {
				WritesPerReminder float64 `json:"writes_per_reminder"`
			} `json:"storage"`
		} `json:"end_to_end"`
	}
	dec := json.NewDecoder(&stdout)
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("stdout is not JSON: %v", err)
	}
	if dec.More() {
		t.Error("more than the JSON document on stdout")
	}
	if doc.Reminders != 100 || doc.EndToEnd.Concurrency != 8 || doc.EndToEnd.Storage.WritesPerReminder < 1 {
		t.Errorf("got %+v, want 100 reminders, 8 in flight and at least one write each", doc)
	}
}
