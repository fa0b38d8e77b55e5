package browsertest

import (
	"testing"

	"github.com/forbear/forbear/internal/testkit/browser"
)

// TestMain starts no browser itself: the first test that opens a tab does,
// and browser.Main closes it after the last test.
func TestMain(m *testing.M) { browser.Main(m) }
