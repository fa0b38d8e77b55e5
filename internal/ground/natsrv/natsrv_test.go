package natsrv_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/natsrv"
)

// failsFast is the upper bound a start-up failure may take: far below the
// 30 s the server used to be given, far above any honest start-up.
const failsFast = 10 * time.Second

func TestStartInProcess(t *testing.T) {
	t.Parallel()
	s, err := natsrv.Start(natsrv.Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(s.Shutdown)
	nc, err := s.Connect("test")
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer nc.Close()
	if s.ClientURL() != "" {
		t.Errorf("ClientURL() = %q for an in-process server, want empty", s.ClientURL())
	}
}

// A taken client port fails at once, with the server's own reason.
func TestStartPortInUse(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()

	began := time.Now()
	s, err := natsrv.Start(natsrv.Options{StoreDir: t.TempDir(), Listen: addr})
	took := time.Since(began)
	if err == nil {
		s.Shutdown()
		t.Fatalf("Start on taken port %s succeeded", addr)
	}
	for _, want := range []string{"embedded NATS", addr, "address already in use"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Start error %q does not say %q", err, want)
		}
	}
	if took > failsFast {
		t.Errorf("Start took %s to fail, want well under 30s", took)
	}
	t.Log(err)
}

// A store directory that cannot be written fails at once and says why. The
// path is a regular file, which no one can write into, root included.
func TestStartStoreNotWritable(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, dir := range map[string]string{"file": file, "below a file": filepath.Join(file, "nats")} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			began := time.Now()
			s, err := natsrv.Start(natsrv.Options{StoreDir: dir})
			took := time.Since(began)
			if err == nil {
				s.Shutdown()
				t.Fatalf("Start with store %s succeeded", dir)
			}
			for _, want := range []string{"embedded NATS", dir, "not a directory"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Start error %q does not say %q", err, want)
				}
			}
			if took > failsFast {
				t.Errorf("Start took %s to fail, want well under 30s", took)
			}
			t.Log(err)
		})
	}
}
