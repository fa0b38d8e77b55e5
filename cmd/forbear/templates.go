package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/forbear/forbear/templates"
)

// templatesDetails is what `forbear templates push|pull -h` says besides
// the synopsis and the flags.
const templatesDetails = `push publishes with PUT /v1/templates/{id}, skipping files whose content is
the live version's, and tries every file even when one is refused; pull
writes files that push would leave unchanged. The token needs the ops role.`

// templatesFlags are the flags of forbear templates push and pull.
type templatesFlags struct {
	url, token, note string
	timeout          time.Duration
}

// define defines the flags; note only for push. The URL and token fall
// back to FORBEAR_URL and FORBEAR_TOKEN after parsing (see resolve), so -h
// never prints a token taken from the environment.
func (f *templatesFlags) define(fs *flag.FlagSet, push bool) {
	fs.StringVar(&f.url, "url", "", "forbear API base `URL` (default $FORBEAR_URL, else "+defaultAPIURL+")")
	fs.StringVar(&f.token, "token", "", "bearer `TOKEN` with the ops role (default $FORBEAR_TOKEN)")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "time limit of each API request, a `DURATION` such as 30s")
	if push {
		fs.StringVar(&f.note, "note", "", "`NOTE` recorded with every version published")
	}
}

// defaultAPIURL is where templates push and pull find forbear when neither
// --url nor FORBEAR_URL says.
const defaultAPIURL = "http://127.0.0.1:8080"

// resolve fills the URL and token the flags left empty from the
// environment.
func (f *templatesFlags) resolve(environ []string) {
	env := envMap(environ)
	f.url = cmp.Or(f.url, env["FORBEAR_URL"], defaultAPIURL)
	f.token = cmp.Or(f.token, env["FORBEAR_TOKEN"])
}

// runTemplates is `forbear templates push|pull`.
func runTemplates(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "push" && args[0] != "pull") {
		fmt.Fprint(stderr, "Usage:\n")
		for _, name := range []string{"templates push", "templates pull"} {
			c := commandNamed(name)
			fmt.Fprintf(stderr, "  %s\n      %s\n", synopsis(c, c.listedFlags()), c.summary)
		}
		return 2
	}
	cmd := args[0]
	c := commandNamed("templates " + cmd)
	fs := c.flagSet(stderr)
	var f templatesFlags
	f.define(fs, cmd == "push")
	rest, code, done := parseFlags(c, fs, args[1:], stdout, stderr)
	if done {
		return code
	}
	if len(rest) != 1 {
		fmt.Fprintf(stderr, "forbear templates %s: give exactly one directory\n\n", cmd)
		printCommandUsage(stderr, c, fs)
		return 2
	}
	f.resolve(environ)
	u, err := url.Parse(f.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fmt.Fprintf(stderr, "forbear templates %s: --url %q is not an http(s) URL\n", cmd, f.url)
		return 2
	}
	client := &apiClient{base: strings.TrimRight(f.url, "/"), token: f.token, timeout: f.timeout, hc: &http.Client{}}
	if cmd == "push" {
		return pushTemplates(ctx, client, rest[0], f.note, stdout, stderr)
	}
	return pullTemplates(ctx, client, rest[0], stdout, stderr)
}

// pushTemplates publishes each changed template file; a refused one is
// reported with the API's reason and the others are still tried.
func pushTemplates(ctx context.Context, c *apiClient, dir, note string, stdout, stderr io.Writer) int {
	entries, err := os.ReadDir(dir)
	if err != nil {
		fmt.Fprintln(stderr, "forbear templates push:", err)
		return 1
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".yaml") {
			files = append(files, e.Name())
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		fmt.Fprintf(stderr, "forbear templates push: no <id>.yaml files in %s\n", dir)
		return 1
	}
	published, unchanged, failed := 0, 0, 0
	for _, name := range files {
		id := strings.TrimSuffix(name, ".yaml")
		v, changed, err := pushOne(ctx, c, filepath.Join(dir, name), id, note)
		switch {
		case err != nil:
			failed++
			fmt.Fprintf(stderr, "%s: refused: %v\n", id, err)
		case changed:
			published++
			fmt.Fprintf(stdout, "%s: published v%d\n", id, v)
		default:
			unchanged++
			fmt.Fprintf(stdout, "%s: unchanged (live v%d)\n", id, v)
		}
	}
	fmt.Fprintf(stdout, "%d published, %d unchanged, %d refused\n", published, unchanged, failed)
	if failed > 0 {
		return 1
	}
	return 0
}

// pushOne publishes one file unless the live version already has its
// content, and returns the version that is live for it.
func pushOne(ctx context.Context, c *apiClient, path, id, note string) (version int, changed bool, err error) {
	if err := templates.ValidateID(id); err != nil {
		return 0, false, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false, err
	}
	def, err := templates.ParseYAML(data)
	if err != nil {
		return 0, false, err
	}
	body, err := json.Marshal(def)
	if err != nil {
		return 0, false, err
	}
	live, liveDef, err := c.live(ctx, id)
	if err != nil && !isStatus(err, http.StatusNotFound) {
		return 0, false, err
	}
	if err == nil {
		if cur, err := json.Marshal(liveDef); err == nil && bytes.Equal(cur, body) {
			return live, false, nil
		}
	}
	path = "/v1/templates/" + url.PathEscape(id)
	if note != "" {
		path += "?note=" + url.QueryEscape(note)
	}
	var out struct {
		Version int `json:"version"`
	}
	if err := c.do(ctx, http.MethodPut, path, body, &out); err != nil {
		return 0, false, err
	}
	return out.Version, true, nil
}

// pullTemplates writes the live version of every template to DIR.
func pullTemplates(ctx context.Context, c *apiClient, dir string, stdout, stderr io.Writer) int {
	var list struct {
		Templates []templates.Info `json:"templates"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/templates", nil, &list); err != nil {
		fmt.Fprintln(stderr, "forbear templates pull:", err)
		return 1
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(stderr, "forbear templates pull:", err)
		return 1
	}
	written, failed := 0, 0
	for _, info := range list.Templates {
		if info.Live == 0 {
			continue
		}
		path, v, err := pullOne(ctx, c, dir, info.ID)
		if err != nil {
			failed++
			fmt.Fprintf(stderr, "%s: %v\n", info.ID, err)
			continue
		}
		written++
		fmt.Fprintf(stdout, "%s: v%d -> %s\n", info.ID, v, path)
	}
	fmt.Fprintf(stdout, "%d written, %d failed\n", written, failed)
	if failed > 0 {
		return 1
	}
	return 0
}

func pullOne(ctx context.Context, c *apiClient, dir, id string) (string, int, error) {
	// The id becomes a file name: never trust it to stay inside dir.
	if err := templates.ValidateID(id); err != nil {
		return "", 0, err
	}
	v, def, err := c.live(ctx, id)
	if err != nil {
		return "", 0, err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(def); err != nil {
		return "", 0, err
	}
	if err := enc.Close(); err != nil {
		return "", 0, err
	}
	path := filepath.Join(dir, id+".yaml")
	tmp, err := os.CreateTemp(dir, "."+id+".*.tmp")
	if err != nil {
		return "", 0, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return "", 0, err
	}
	if err := tmp.Close(); err != nil {
		return "", 0, err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return "", 0, err
	}
	return path, v, os.Rename(tmp.Name(), path)
}

// apiClient calls the forbear HTTP API.
type apiClient struct {
	base    string
	token   string
	timeout time.Duration
	hc      *http.Client
}

// remoteError is an error response of the API: {"error":{code,message,field}}.
type remoteError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

func (e *remoteError) Error() string {
	s := fmt.Sprintf("HTTP %d", e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Field != "" {
		s += " (" + e.Field + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

func isStatus(err error, status int) bool {
	var re *remoteError
	return errors.As(err, &re) && re.Status == status
}

// live reads a template's live version and its definition.
func (c *apiClient) live(ctx context.Context, id string) (int, templates.Definition, error) {
	var out struct {
		Live       int             `json:"live"`
		Definition json.RawMessage `json:"definition"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/templates/"+url.PathEscape(id), nil, &out); err != nil {
		return 0, templates.Definition{}, err
	}
	def, err := templates.ParseJSON(out.Definition)
	if err != nil {
		return 0, templates.Definition{}, err
	}
	return out.Live, def, nil
}

// do sends one request with the client's time limit and decodes a JSON
// answer into out; an error status becomes a *remoteError.
func (c *apiClient) do(ctx context.Context, method, path string, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if res.StatusCode >= 300 {
		re := &remoteError{Status: res.StatusCode}
		var e struct {
			Error *remoteError `json:"error"`
		}
		e.Error = re
		if json.Unmarshal(data, &e) != nil || re.Message == "" {
			re.Message = strings.TrimSpace(string(data))
		}
		return re
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}
