package dirlock

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// FileName is the lock file created in the locked directory.
const FileName = "forbear.lock"

// maxHolderSize bounds how much of a lock file is read to name its holder.
const maxHolderSize = 4 << 10

// Holder says who holds a directory.
type Holder struct {
	PID      int       `json:"pid"`
	Host     string    `json:"host"`
	Instance string    `json:"instance"`
	Since    time.Time `json:"since"`
}

// String is "forbear pid 4242 on host x (instance y, since 2026-...)".
func (h Holder) String() string {
	return fmt.Sprintf("forbear pid %d on host %s (instance %s, since %s)", h.PID, h.Host, h.Instance, h.Since.Format(time.RFC3339))
}

// ErrLocked is what a refused Acquire's error wraps.
var ErrLocked = errors.New("directory is locked")

// LockedError is Acquire's answer when another process holds the
// directory.
type LockedError struct {
	Dir string
	// Holder is who holds it; nil when the lock file could not be read
	// (its holder may be writing it at this very moment).
	Holder *Holder
}

func (e *LockedError) Error() string {
	if e.Holder == nil {
		return fmt.Sprintf("%s is in use by another process (see %s)", e.Dir, filepath.Join(e.Dir, FileName))
	}
	return fmt.Sprintf("%s is in use by %s", e.Dir, e.Holder)
}

// Unwrap makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Unwrap() error { return ErrLocked }

// Lock is a held directory lock.
type Lock struct {
	f *os.File
}

// Acquire creates dir if needed and locks it for this process, recording
// holder in the lock file. It does not wait: a directory held by another
// process (or by another Acquire in this one) is refused at once with a
// *LockedError naming the holder.
func Acquire(dir string, holder Holder) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	locked, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !locked {
		held := &LockedError{Dir: dir, Holder: readHolder(f)}
		f.Close()
		return nil, held
	}
	data, _ := json.Marshal(holder)
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt(append(data, '\n'), 0)
	}
	if err != nil {
		f.Close() // closing drops the lock
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &Lock{f: f}, nil
}

func readHolder(f *os.File) *Holder {
	data, err := io.ReadAll(io.LimitReader(f, maxHolderSize))
	if err != nil {
		return nil
	}
	var h Holder
	if json.Unmarshal(data, &h) != nil || h.PID == 0 {
		return nil
	}
	return &h
}

// Release gives the directory up. It is safe to call on a nil Lock and
// more than once.
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	// The holder line goes first, while the lock is still held, so that no
	// one reads a departed holder; closing the file drops the lock.
	_ = l.f.Truncate(0)
	_ = l.f.Close()
	l.f = nil
}
