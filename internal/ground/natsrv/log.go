package natsrv

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/sirupsen/logrus"
)

// serverLog is the embedded server's logger (server.Logger). A fatal error
// while starting (the server's default logger would exit the process) is
// handed to Start, which fails with it; afterwards, fatal errors, errors
// and warnings go to the forbear log; notices are debug lines.
type serverLog struct {
	log     *logrus.Entry
	fatal   chan string // the first fatal error while starting
	started atomic.Bool // Start has returned: nothing waits on fatal

	mu   sync.Mutex
	last string // the latest error, for a start-up that times out
}

func newServerLog(log *logrus.Entry) *serverLog {
	if log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		log = logrus.NewEntry(l)
	}
	return &serverLog{log: log, fatal: make(chan string, 1)}
}

func (l *serverLog) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if !l.started.Load() {
		select {
		case l.fatal <- msg: // Start's error says it
			return
		default:
		}
	}
	l.log.Error("nats-server: " + msg)
}

func (l *serverLog) Errorf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.mu.Lock()
	l.last = msg
	l.mu.Unlock()
	l.log.Error("nats-server: " + msg)
}

func (l *serverLog) Warnf(format string, v ...any) {
	l.log.Warn("nats-server: " + fmt.Sprintf(format, v...))
}

func (l *serverLog) Noticef(format string, v ...any) {
	if l.log.Logger.IsLevelEnabled(logrus.DebugLevel) {
		l.log.Debug("nats-server: " + fmt.Sprintf(format, v...))
	}
}

// Debugf and Tracef are never called: the logger is set with debug and
// trace off.
func (l *serverLog) Debugf(string, ...any) {}
func (l *serverLog) Tracef(string, ...any) {}

func (l *serverLog) lastError() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}
