package natscluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// serverPackage is the nats-server main package of the module forbear
// already depends on: the cluster runs the same server version as the
// embedded one, and nothing is downloaded.
const serverPackage = "github.com/nats-io/nats-server/v2"

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// Binary builds the nats-server binary once per test process (the Go build
// cache makes later builds quick) and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "forbear-nats-server-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "nats-server")
		goCmd, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("natscluster: the go command is needed to build nats-server: %w", err)
			return
		}
		cmd := exec.Command(goCmd, "build", "-o", binary, serverPackage)
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("natscluster: go build %s: %w\n%s", serverPackage, err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// Node is one nats-server process of the cluster.
type Node struct {
	Name       string
	ClientPort int
	RoutePort  int
	dir        string
	config     string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	log  *bytes.Buffer
}

// URL is the node's client URL.
func (n *Node) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.ClientPort) }

// Cluster is a JetStream cluster of nats-server processes on loopback.
type Cluster struct {
	Nodes []*Node
	bin   string
}

// Start starts a cluster of size nodes (3 for a quorum that survives one
// loss) in temporary directories, waits until JetStream answers through
// every node, and stops every process when the test ends.
func Start(t testing.TB, size int) *Cluster {
	t.Helper()
	c := &Cluster{bin: Binary(t)}
	base := t.TempDir()
	ports := freePorts(t, 2*size)
	for i := range size {
		c.Nodes = append(c.Nodes, &Node{
			Name: fmt.Sprintf("n%d", i+1), ClientPort: ports[2*i], RoutePort: ports[2*i+1],
			dir: filepath.Join(base, fmt.Sprintf("n%d", i+1)),
		})
	}
	for _, n := range c.Nodes {
		var routes []string
		for _, o := range c.Nodes {
			if o != n {
				routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", o.RoutePort))
			}
		}
		n.config = filepath.Join(n.dir, "server.conf")
		conf := fmt.Sprintf(`server_name: %s
listen: 127.0.0.1:%d
jetstream {
  store_dir: %q
}
cluster {
  name: forbear-test
  listen: 127.0.0.1:%d
  routes: [%s]
}
`, n.Name, n.ClientPort, filepath.Join(n.dir, "js"), n.RoutePort, strings.Join(routes, ", "))
		if err := os.MkdirAll(n.dir, 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(n.config, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(c.stopAll)
	for _, n := range c.Nodes {
		if err := c.start(n); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.WaitJetStream(context.Background(), 60*time.Second); err != nil {
		t.Fatal(err)
	}
	return c
}

// URLs is every node's client URL, comma separated, as nats.Connect and
// forbear's nats.url take them.
func (c *Cluster) URLs() string {
	var urls []string
	for _, n := range c.Nodes {
		urls = append(urls, n.URL())
	}
	return strings.Join(urls, ",")
}

func (c *Cluster) start(n *Node) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil {
		return fmt.Errorf("natscluster: %s is already running", n.Name)
	}
	cmd := exec.Command(c.bin, "-c", n.config)
	n.log = &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = n.log, n.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("natscluster: start %s: %w", n.Name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	n.cmd, n.done = cmd, done
	if err := waitPort(n.ClientPort, done, 30*time.Second); err != nil {
		return fmt.Errorf("%w; %s said:\n%s", err, n.Name, n.log.String())
	}
	return nil
}

// Kill ends a node with SIGKILL, as a crash would, and waits until the
// process is gone.
func (c *Cluster) Kill(n *Node) {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.cmd = nil
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// Restart starts a killed node again on its own store directory.
func (c *Cluster) Restart(t testing.TB, n *Node) {
	t.Helper()
	if err := c.start(n); err != nil {
		t.Fatal(err)
	}
}

func (c *Cluster) stopAll() {
	for _, n := range c.Nodes {
		c.Kill(n)
	}
}

// Node returns the node with the given server name.
func (c *Cluster) Node(name string) (*Node, bool) {
	for _, n := range c.Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return nil, false
}

// Connect opens a client connection to every node of the cluster.
func (c *Cluster) Connect(t testing.TB) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(c.URLs(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatalf("natscluster: connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// WaitJetStream waits until the JetStream API answers through a fresh
// connection (a meta leader is elected).
func (c *Cluster) WaitJetStream(ctx context.Context, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	nc, err := nats.Connect(c.URLs(), nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	for {
		rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := js.AccountInfo(rctx)
		rcancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("natscluster: JetStream not ready: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// StreamLeader returns the node that leads stream.
func (c *Cluster) StreamLeader(ctx context.Context, js jetstream.JetStream, stream string) (*Node, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	info := s.CachedInfo()
	if info.Cluster == nil || info.Cluster.Leader == "" {
		return nil, fmt.Errorf("natscluster: stream %s has no leader", stream)
	}
	n, ok := c.Node(info.Cluster.Leader)
	if !ok {
		return nil, fmt.Errorf("natscluster: stream %s is led by unknown server %q", stream, info.Cluster.Leader)
	}
	return n, nil
}

// Gather moves the leadership of every stream of the account (KV buckets
// included) to node n, so that killing n takes every leader down at once.
// It asks each other leader to step down in n's favour and waits until n
// leads them all.
func (c *Cluster) Gather(ctx context.Context, js jetstream.JetStream, n *Node) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		names := js.StreamNames(ctx)
		var elsewhere []string
		for name := range names.Name() {
			s, err := js.Stream(ctx, name)
			if err != nil {
				return err
			}
			if cl := s.CachedInfo().Cluster; cl == nil || cl.Leader != n.Name {
				elsewhere = append(elsewhere, name)
			}
		}
		if err := names.Err(); err != nil {
			return err
		}
		if len(elsewhere) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("natscluster: %s still led elsewhere than %s", strings.Join(elsewhere, ", "), n.Name)
		}
		req := []byte(fmt.Sprintf(`{"placement":{"preferred":%q}}`, n.Name))
		for _, name := range elsewhere {
			// The answer may be an error (a replica not current yet): the
			// next pass asks again.
			_, _ = js.Conn().RequestWithContext(ctx, jetstream.DefaultAPIPrefix+"STREAM.LEADER.STEPDOWN."+name, req)
		}
		time.Sleep(200 * time.Millisecond) // let the elections finish before looking again
	}
}

// AllLed reports whether every stream of the account (KV buckets included)
// has a leader and a current quorum of replicas, and returns the first
// that does not.
func AllLed(ctx context.Context, js jetstream.JetStream) (bool, string, error) {
	names := js.StreamNames(ctx)
	var all []string
	for n := range names.Name() {
		all = append(all, n)
	}
	if err := names.Err(); err != nil {
		return false, "", err
	}
	for _, name := range all {
		s, err := js.Stream(ctx, name)
		if err != nil {
			return false, name, err
		}
		info := s.CachedInfo()
		if info.Cluster == nil || info.Cluster.Leader == "" {
			return false, name, nil
		}
		current := 1 // the leader
		for _, r := range info.Cluster.Replicas {
			if r.Current {
				current++
			}
		}
		if current*2 <= info.Config.Replicas {
			return false, name, nil
		}
	}
	return true, "", nil
}

// Log is what a node printed (for a failing test's output).
func (n *Node) Log() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.log == nil {
		return ""
	}
	return n.log.String()
}

func freePorts(t testing.TB, k int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range k {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		_ = l.Close()
	}
	return ports
}

// waitPort waits until something accepts on port, or the process exits.
func waitPort(port int, exited <-chan struct{}, d time.Duration) error {
	deadline := time.Now().Add(d)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.Close()
			return nil
		}
		select {
		case <-exited:
			return errors.New("natscluster: nats-server exited during start-up")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("natscluster: nothing listens on %s after %s", addr, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
