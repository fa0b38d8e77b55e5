package browser

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// EnvScreenshots, set to 1, makes Screenshot write its PNGs to
// docs/screenshots/ in the module instead of the test's temporary directory.
const EnvScreenshots = "FORBEAR_SCREENSHOTS"

// ScreenshotDir is where Screenshot writes when EnvScreenshots is 1,
// relative to the module root (the directory holding go.mod).
const ScreenshotDir = "docs/screenshots"

// Viewport widths for Screenshot: a small phone and a laptop.
const (
	MobileWidth  = 375
	DesktopWidth = 1280
)

const (
	// mobileBelow is the width under which the viewport is emulated as a
	// phone's (the page's meta viewport applies, as on a real phone).
	mobileBelow = 768
	// The heights of the emulated windows: a full-page screenshot is as
	// tall as the page, so they only matter for CSS that uses the viewport
	// height.
	mobileHeight  = 812
	desktopHeight = 800
	maxWidth      = 3840
	// maxHeight caps a full-page picture at what Chromium renders in one
	// piece; a longer page is cut there.
	maxHeight = 16384
)

// screenshotName keeps file names plain: no directories, no surprises in a
// README link.
var screenshotName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// Screenshot sets the tab's viewport to width CSS pixels (SetViewport),
// renders the whole page, not only the visible part, to a PNG named
// name+".png", and returns the file's path. The file goes to the test's
// temporary directory, or to ScreenshotDir in the module when
// EnvScreenshots is 1. The viewport stays at that width afterwards.
func Screenshot(t testing.TB, ctx context.Context, name string, width int) string {
	t.Helper()
	return screenshot(t, ctx, name, width, maxHeight)
}

// ScreenshotTop is Screenshot of the top of the page only, at most height
// CSS pixels of it: what the first few screens of a phone show of a long
// page.
func ScreenshotTop(t testing.TB, ctx context.Context, name string, width, height int) string {
	t.Helper()
	if height <= 0 || height > maxHeight {
		t.Fatalf("browser: screenshot height %d: want 1 to %d", height, maxHeight)
	}
	return screenshot(t, ctx, name, width, height)
}

func screenshot(t testing.TB, ctx context.Context, name string, width, height int) string {
	t.Helper()
	if !screenshotName.MatchString(name) {
		t.Fatalf("browser: screenshot name %q: want lower-case letters, digits and dashes", name)
	}
	SetViewport(t, ctx, width)
	png := run(t, ctx, "taking screenshot "+name, fullPage(width, height))

	dir := t.TempDir()
	if os.Getenv(EnvScreenshots) == "1" {
		root, err := moduleRoot()
		if err != nil {
			t.Fatalf("browser: %v", err)
		}
		dir = filepath.Join(root, ScreenshotDir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatalf("browser: %v", err)
		}
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("browser: writing screenshot: %v", err)
	}
	return path
}

// SetViewport makes the tab's window width CSS pixels wide (device scale
// 1), a phone's when width < 768: touch, and the page's meta viewport
// applies as on a real phone. The page shown is laid out again at once;
// later pages of the tab keep the width.
func SetViewport(t testing.TB, ctx context.Context, width int) {
	t.Helper()
	if width <= 0 || width > maxWidth {
		t.Fatalf("browser: viewport width %d: want 1 to %d", width, maxWidth)
	}
	height, opts := int64(desktopHeight), []chromedp.EmulateViewportOption(nil)
	if width < mobileBelow {
		height, opts = mobileHeight, []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulateTouch}
	}
	run(t, ctx, "setting the viewport", chromedp.EmulateViewport(int64(width), height, opts...))
}

// moduleRoot returns the nearest directory at or above the working
// directory (a test's package directory) that holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod at or above the working directory")
		}
		dir = parent
	}
}

// fullPage captures the page from its top to the end of its content (at
// most maxH CSS pixels), width CSS pixels wide, as a PNG. Without a clip
// Chromium captures only the window, whatever captureBeyondViewport says.
func fullPage(width, maxH int) chromedp.Action[[]byte] {
	return func(ctx context.Context, tg *chromedp.Target) ([]byte, error) {
		metrics, err := cdp.Call(ctx, tg, page.GetLayoutMetrics, cdp.Empty{})
		if err != nil {
			return nil, err
		}
		if metrics.CSSContentSize == nil {
			return nil, errors.New("the browser reported no content size")
		}
		height := min(math.Ceil(metrics.CSSContentSize.Height), float64(maxH))
		beyond := true
		res, err := cdp.Call(ctx, tg, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format:                page.CaptureScreenshotFormatPng,
			Clip:                  &page.Viewport{Width: float64(width), Height: height, Scale: 1},
			CaptureBeyondViewport: &beyond,
		})
		if err != nil {
			return nil, err
		}
		return res.Data, nil
	}
}
