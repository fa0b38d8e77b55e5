package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/roof/app"
	"github.com/forbear/forbear/internal/testkit"
	"github.com/forbear/forbear/templates"
)

const opsToken = "t-ops-cli"

// startAPI runs a forbear instance (in-process NATS, bundled templates) on
// a loopback port and returns its base URL.
func startAPI(t *testing.T) string {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.TemplatesDir = ""
	cfg.NATS.Embedded.Listen = ""
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Auth.Tokens = []config.Token{{Name: "ops", Token: opsToken, Roles: []string{"ops"}}}
	log := logrus.New()
	log.SetOutput(io.Discard)
	ctx := testkit.Context(t, time.Minute)
	a, err := app.New(ctx, cfg, app.Options{NoScheduler: true, Log: log})
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	if err := a.Start(ctx); err != nil {
		_ = a.Stop(context.Background())
		t.Fatalf("app.Start: %v", err)
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = a.Stop(stopCtx)
	})
	return "http://" + a.Addr()
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// cli runs the command and returns its exit code and output.
func cli(t *testing.T, environ []string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(testkit.Context(t, time.Minute), args, environ, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

const goodTemplate = `category: collection
note: Sent when a payment is overdue.
channels:
  sms:
    en-US: "Hi {{.Borrower.Name}}, loan {{.Loan.ID}} is overdue. Reply STOP to opt out."
    zh-CN: "{{.Borrower.Name}}您好，借款{{.Loan.ID}}已逾期。回复退订拒收"
  email:
    en-US:
      subject: "Loan {{.Loan.ID}} is overdue"
      body: |-
        Dear {{.Borrower.Name}},

        Please repay. Reply STOP to opt out.
`

func TestTemplatesPushPull(t *testing.T) {
	t.Parallel()
	base := startAPI(t)
	src := t.TempDir()
	writeFiles(t, src, map[string]string{
		"good.yaml":   goodTemplate,
		"bad.yaml":    "category: collection\nchannels:\n  sms:\n    en-US: \"Pay {{.Loan.ID}} now.\"\n",
		"README.md":   "not a template",
		"broken.yaml": "channels: [",
	})

	// One refused, one unparsable: the good one is still published.
	code, stdout, stderr := cli(t, nil, "templates", "push", src, "--url", base, "--token", opsToken, "--note", "from git")
	if code != 1 {
		t.Fatalf("push: exit %d, want 1\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	for _, s := range []string{"good: published v1", "1 published, 0 unchanged, 2 refused"} {
		if !strings.Contains(stdout, s) {
			t.Errorf("push stdout %q lacks %q", stdout, s)
		}
	}
	for _, s := range []string{"bad: refused: HTTP 400 invalid_template (channels.sms.en-US): channel sms, locale en-US", "broken: refused:"} {
		if !strings.Contains(stderr, s) {
			t.Errorf("push stderr %q lacks %q", stderr, s)
		}
	}

	// Fixed, and the token from the environment; flags before DIR work too.
	writeFiles(t, src, map[string]string{"bad.yaml": "category: collection\nchannels:\n  sms:\n    en-US: \"Pay {{.Loan.ID}} now. Reply STOP to opt out.\"\n"})
	if err := os.Remove(filepath.Join(src, "broken.yaml")); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = cli(t, []string{"FORBEAR_TOKEN=" + opsToken, "FORBEAR_URL=" + base}, "templates", "push", "--note", "fixed", src)
	if code != 0 {
		t.Fatalf("second push: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	for _, s := range []string{"bad: published v1", "good: unchanged (live v1)", "1 published, 1 unchanged, 0 refused"} {
		if !strings.Contains(stdout, s) {
			t.Errorf("second push stdout %q lacks %q", stdout, s)
		}
	}
	if got := versionNote(t, base, "good"); got != "from git" {
		t.Errorf("note of good v1 = %q, want %q", got, "from git")
	}

	// A wrong token is reported, not ignored.
	code, _, stderr = cli(t, nil, "templates", "push", src, "--url", base, "--token", "nope")
	if code != 1 || !strings.Contains(stderr, "HTTP 401") {
		t.Errorf("wrong token: exit %d, stderr %q; want 1 and HTTP 401", code, stderr)
	}

	// Pull writes every live template in the file shape, and pushing the
	// pulled files changes nothing.
	out := filepath.Join(t.TempDir(), "pulled")
	code, stdout, stderr = cli(t, []string{"FORBEAR_TOKEN=" + opsToken}, "templates", "pull", out, "--url", base)
	if code != 0 {
		t.Fatalf("pull: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "good: v1 -> "+filepath.Join(out, "good.yaml")) || !strings.Contains(stdout, "9 written, 0 failed") {
		t.Errorf("pull stdout %q", stdout)
	}
	got, err := templates.LoadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := templates.ParseYAML([]byte(goodTemplate))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got["good"], want) {
		t.Errorf("pulled good.yaml = %+v, want %+v", got["good"], want)
	}
	bundled, err := templates.Bundled()
	if err != nil {
		t.Fatal(err)
	}
	for id, def := range bundled {
		if !reflect.DeepEqual(got[id], def) {
			t.Errorf("pulled %s.yaml differs from the bundled template", id)
		}
	}
	code, stdout, stderr = cli(t, nil, "templates", "push", out, "--url", base, "--token", opsToken)
	if code != 0 || !strings.Contains(stdout, "0 published, 9 unchanged, 0 refused") {
		t.Errorf("push of pulled files: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
}

func TestTemplatesUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{name: "no subcommand", args: []string{"templates"}, wantStderr: "forbear templates push DIR"},
		{name: "unknown subcommand", args: []string{"templates", "sync", "x"}, wantStderr: "forbear templates pull DIR"},
		{name: "no directory", args: []string{"templates", "push"}, wantStderr: "give exactly one directory"},
		{name: "two directories", args: []string{"templates", "pull", "a", "b"}, wantStderr: "give exactly one directory"},
		{name: "bad url", args: []string{"templates", "pull", "a", "--url", "ftp://x"}, wantStderr: "is not an http(s) URL"},
		{name: "unknown flag", args: []string{"templates", "push", "a", "--force"}, wantStderr: "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := cli(t, nil, tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tt.wantStderr)
			}
		})
	}
}

// versionNote reads the note of a template's first version.
func versionNote(t *testing.T, base, id string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(testkit.Context(t, 10*time.Second), http.MethodGet, base+"/v1/templates/"+id+"/versions/1", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+opsToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var rec templates.Record
	if err := json.NewDecoder(res.Body).Decode(&rec); err != nil {
		t.Fatal(err)
	}
	return rec.Note
}
