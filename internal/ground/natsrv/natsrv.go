package natsrv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/sirupsen/logrus"
)

// readyWait bounds how long Start waits for a server that neither gets
// ready nor reports a fatal error (a hung disk, say).
const readyWait = 30 * time.Second

// Options configure the embedded server.
type Options struct {
	// StoreDir is the JetStream file store directory (required); it is
	// created if missing and must be writable.
	StoreDir string
	// Listen is host:port for client connections; "" means in-process
	// connections only.
	Listen string
	// ServerName names the server in logs and cluster views.
	ServerName string
	// Log receives the server's warnings and errors; nil discards them.
	Log *logrus.Entry
}

// Server is a running embedded nats-server.
type Server struct {
	srv *server.Server
}

// Start starts the server and waits until it accepts connections. A
// server that reports a fatal error while starting (a taken port, a store
// it cannot use) fails Start at once with the server's own reason.
func Start(o Options) (*Server, error) {
	if o.StoreDir == "" {
		return nil, errors.New("embedded NATS: StoreDir is required")
	}
	if err := checkWritable(o.StoreDir); err != nil {
		return nil, err
	}
	opts := &server.Options{
		ServerName: o.ServerName,
		JetStream:  true,
		StoreDir:   o.StoreDir,
		NoSigs:     true,
	}
	if o.Listen == "" {
		opts.DontListen = true
	} else {
		host, port, err := net.SplitHostPort(o.Listen)
		if err != nil {
			return nil, fmt.Errorf("embedded NATS: listen %q: %w", o.Listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, fmt.Errorf("embedded NATS: listen port %q: %w", port, err)
		}
		if p == 0 {
			p = server.RANDOM_PORT
		}
		opts.Host, opts.Port = host, p
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	l := newServerLog(o.Log)
	s.SetLogger(l, false, false)
	go s.Start()
	err = waitReady(s, l)
	l.started.Store(true)
	if err != nil {
		s.Shutdown()
		return nil, fmt.Errorf("embedded NATS: %w (store %s)", err, o.StoreDir)
	}
	return &Server{srv: s}, nil
}

// waitReady returns once s accepts connections, as soon as it reports a
// fatal error, or after readyWait.
func waitReady(s *server.Server, l *serverLog) error {
	deadline := time.Now().Add(readyWait)
	for {
		select {
		case reason := <-l.fatal:
			return errors.New(reason)
		default:
		}
		// Short polls: ReadyForConnections cannot be interrupted by a
		// fatal error, so it is asked for a little at a time.
		if s.ReadyForConnections(50 * time.Millisecond) {
			return nil
		}
		if time.Now().After(deadline) {
			if last := l.lastError(); last != "" {
				return fmt.Errorf("not ready after %s; last error: %s", readyWait, last)
			}
			return fmt.Errorf("not ready after %s", readyWait)
		}
	}
}

// checkWritable creates dir if needed and writes a probe file in it: a
// store the server cannot write would otherwise fail later, deep inside
// JetStream.
func checkWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("embedded NATS: store dir %s cannot be created: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".write-probe-*")
	if err != nil {
		return fmt.Errorf("embedded NATS: store dir %s is not writable: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("embedded NATS: store dir %s: %w", dir, err)
	}
	return nil
}

// Connect opens a client connection to the server (in-process when the
// server does not listen).
func (s *Server) Connect(name string, extra ...nats.Option) (*nats.Conn, error) {
	opts := append([]nats.Option{nats.Name(name), nats.InProcessServer(s.srv), nats.MaxReconnects(-1)}, extra...)
	return nats.Connect("", opts...)
}

// ClientURL is the URL other processes use ("" when not listening).
func (s *Server) ClientURL() string {
	if s.srv.Addr() == nil {
		return ""
	}
	return s.srv.ClientURL()
}

// Shutdown stops the server and waits for it.
func (s *Server) Shutdown() {
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
}
