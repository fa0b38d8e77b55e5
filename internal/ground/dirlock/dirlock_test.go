package dirlock_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/dirlock"
)

func TestAcquire(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	since := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	first := dirlock.Holder{PID: 4242, Host: "box", Instance: "one", Since: since}
	l, err := dirlock.Acquire(dir, first)
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}

	_, err = dirlock.Acquire(dir, dirlock.Holder{PID: 1, Host: "box", Instance: "two", Since: since})
	var locked *dirlock.LockedError
	if !errors.As(err, &locked) || !errors.Is(err, dirlock.ErrLocked) {
		t.Fatalf("second Acquire = %v, want a *LockedError", err)
	}
	if locked.Holder == nil || *locked.Holder != first {
		t.Errorf("holder = %+v, want %+v", locked.Holder, first)
	}
	want := dir + " is in use by forbear pid 4242 on host box (instance one, since 2026-11-30T09:00:00Z)"
	if err.Error() != want {
		t.Errorf("error = %q\nwant    %q", err, want)
	}

	l.Release()
	l.Release() // twice is harmless
	again, err := dirlock.Acquire(dir, dirlock.Holder{PID: 2, Host: "box", Instance: "three", Since: since})
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	again.Release()
}

// A lock file left behind by a process that is gone (no flock on it) does
// not block anyone.
func TestStaleFileDoesNotBlock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stale := `{"pid":999999,"host":"gone","instance":"old","since":"2020-01-01T00:00:00Z"}`
	if err := os.WriteFile(filepath.Join(dir, dirlock.FileName), []byte(stale), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := dirlock.Acquire(dir, dirlock.Holder{PID: os.Getpid(), Host: "here", Instance: "new", Since: time.Now()})
	if err != nil {
		t.Fatalf("Acquire over a stale file: %v", err)
	}
	defer l.Release()
	data, err := os.ReadFile(filepath.Join(dir, dirlock.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"instance":"new"`) || strings.Contains(string(data), "old") {
		t.Errorf("lock file = %s, want only the new holder", data)
	}
}

// A holder that has not written its line yet is still a holder.
func TestUnreadableHolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, err := dirlock.Acquire(dir, dirlock.Holder{PID: 7, Host: "h", Instance: "i", Since: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if err := os.Truncate(filepath.Join(dir, dirlock.FileName), 0); err != nil {
		t.Fatal(err)
	}
	_, err = dirlock.Acquire(dir, dirlock.Holder{PID: 8})
	if !errors.Is(err, dirlock.ErrLocked) || !strings.Contains(err.Error(), "in use by another process") {
		t.Errorf("Acquire = %v, want a refusal without a named holder", err)
	}
}
