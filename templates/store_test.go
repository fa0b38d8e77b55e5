package templates

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/testkit"
)

type bundle struct {
	nats  *testkit.NATS
	store *Store
	ctx   context.Context
}

func testLog() *logrus.Entry {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return logrus.NewEntry(l)
}

// setup starts an embedded NATS and opens a Store on it.
func setup(t *testing.T) *bundle {
	t.Helper()
	n := testkit.StartNATS(t)
	ctx := testkit.Context(t, 30*time.Second)
	return &bundle{nats: n, store: openStore(t, n, ctx), ctx: ctx}
}

// openStore opens another Store on its own connection, as a second forbear
// instance would.
func openStore(t *testing.T, n *testkit.NATS, ctx context.Context) *Store {
	t.Helper()
	_, js := n.Connect(t)
	s, err := Open(ctx, js, testLog())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

func smsDef(body string) Definition {
	return Definition{Category: CategoryCollection, Channels: map[domain.Channel]map[string]Text{
		domain.SMS: {"en-US": {Body: body}},
	}}
}

func TestPutGetRollback(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s, ctx := b.store, b.ctx

	if _, err := s.Render("greeting", domain.SMS, "en-US", Sample("en-US")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("render before put = %v, want ErrNotFound", err)
	}
	if _, err := s.Get(ctx, "greeting"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get before put = %v, want ErrNotFound", err)
	}

	v1, err := s.Put(ctx, "greeting", smsDef("v1 {{.Borrower.Name}}. Reply STOP to opt out."), "ann", "first")
	if err != nil || v1 != 1 {
		t.Fatalf("put = %d, %v", v1, err)
	}
	v2, err := s.Put(ctx, "greeting", smsDef("v2 {{.Borrower.Name}}. Reply STOP to opt out."), "bob", "second")
	if err != nil || v2 != 2 {
		t.Fatalf("put = %d, %v", v2, err)
	}
	// Put waits for the local cache: read-your-writes on one instance.
	r, err := s.Render("greeting", domain.SMS, "en-US", Sample("en-US"))
	if err != nil || r.Version != 2 || r.Text != "v2 Alex Chen. Reply STOP to opt out." {
		t.Fatalf("render = %+v, %v", r, err)
	}

	info, err := s.Get(ctx, "greeting")
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != "greeting" || info.Live != 2 || len(info.Versions) != 2 ||
		info.Versions[0].Version != 1 || info.Versions[0].Author != "ann" || info.Versions[1].Note != "second" {
		t.Fatalf("info = %+v", info)
	}
	rec, err := s.Version(ctx, "greeting", 1)
	if err != nil || rec.Definition.Channels[domain.SMS]["en-US"].Body != "v1 {{.Borrower.Name}}. Reply STOP to opt out." {
		t.Fatalf("version 1 = %+v, %v", rec, err)
	}

	if err := s.Rollback(ctx, "greeting", 1, "carol"); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Render("greeting", domain.SMS, "en-US", Sample("en-US")); r.Version != 1 || !strings.HasPrefix(r.Text, "v1 ") {
		t.Fatalf("after rollback render = %+v", r)
	}
	if info, _ := s.Get(ctx, "greeting"); info.Live != 1 || len(info.Versions) != 2 {
		t.Fatalf("after rollback info = %+v", info)
	}
	// The next publish continues the numbering.
	if v3, err := s.Put(ctx, "greeting", smsDef("v3. Reply STOP to opt out."), "dan", ""); err != nil || v3 != 3 {
		t.Fatalf("put after rollback = %d, %v", v3, err)
	}
	if err := s.Rollback(ctx, "greeting", 9, "carol"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rollback to a missing version = %v", err)
	}
	if _, err := s.Version(ctx, "missing", 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("version of a missing template = %v", err)
	}
}

func TestPutInvalidKeepsLive(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s, ctx := b.store, b.ctx
	if _, err := s.Put(ctx, "t", smsDef("ok. Reply STOP to opt out."), "ann", ""); err != nil {
		t.Fatal(err)
	}
	_, err := s.Put(ctx, "t", smsDef("no opt-out wording {{.Borrower.Name}}"), "ann", "")
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Channel != "sms" || ve.Locale != "en-US" {
		t.Fatalf("put invalid = %v, want a ValidationError for sms en-US", err)
	}
	if _, err := s.Put(ctx, "bad id", smsDef("ok. STOP"), "ann", ""); !errors.As(err, &ve) {
		t.Fatalf("put with a bad id = %v", err)
	}
	info, err := s.Get(ctx, "t")
	if err != nil || info.Live != 1 || len(info.Versions) != 1 {
		t.Fatalf("info = %+v, %v", info, err)
	}
}

// TestPutTooLarge: a definition larger than a stored record may hold is
// refused with store.ErrTooLarge (the API's 409) before anything is
// written, not sent for the server to refuse, and the live version stays.
func TestPutTooLarge(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s, ctx := b.store, b.ctx
	if _, err := s.Put(ctx, "t", smsDef("ok. Reply STOP to opt out."), "ann", ""); err != nil {
		t.Fatal(err)
	}
	// Every text renders within the render bound; together they are more
	// than a record may hold.
	body := strings.Repeat("Your payment is due. ", 2500) + "Reply STOP to opt out."
	texts := map[string]Text{}
	for _, loc := range []string{"en-US", "en-GB", "fr-FR", "de-DE", "es-ES", "it-IT", "pt-BR", "nl-NL", "sv-SE", "pl-PL", "ja-JP", "zh-CN"} {
		texts[loc] = Text{Subject: "Payment due", Body: body}
	}
	def := Definition{Category: CategoryCollection, Channels: map[domain.Channel]map[string]Text{domain.Email: texts}}
	if err := s.Validate("t", def); err != nil {
		t.Fatalf("the large definition must be valid: %v", err)
	}
	if _, err := s.Put(ctx, "t", def, "ann", ""); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("put too large = %v, want store.ErrTooLarge", err)
	}
	info, err := s.Get(ctx, "t")
	if err != nil || info.Live != 1 || len(info.Versions) != 1 {
		t.Fatalf("info = %+v, %v", info, err)
	}
}

// TestHotReload: a publish on one instance reaches another instance's
// Render without a restart.
func TestHotReload(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := openStore(t, b.nats, b.ctx)

	v, err := b.store.Put(b.ctx, "hot", smsDef("first. Reply STOP to opt out."), "ann", "")
	if err != nil {
		t.Fatal(err)
	}
	wait := func(version int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		defer cancel()
		if err := other.WaitVersion(ctx, "hot", version); err != nil {
			t.Fatalf("other instance never saw version %d: %v", version, err)
		}
	}
	wait(v)
	v2, err := b.store.Put(b.ctx, "hot", smsDef("second. Reply STOP to opt out."), "ann", "")
	if err != nil {
		t.Fatal(err)
	}
	wait(v2)
	r, err := other.Render("hot", domain.SMS, "en-US", Sample("en-US"))
	if err != nil || r.Version != v2 || !strings.HasPrefix(r.Text, "second") {
		t.Fatalf("other render = %+v, %v", r, err)
	}
	if err := b.store.Rollback(b.ctx, "hot", v, "ann"); err != nil {
		t.Fatal(err)
	}
	wait(v)
	if r, _ := other.Render("hot", domain.SMS, "en-US", Sample("en-US")); !strings.HasPrefix(r.Text, "first") {
		t.Fatalf("other render after rollback = %+v", r)
	}

	// A store opened now loads what is live without waiting.
	late := openStore(t, b.nats, b.ctx)
	if got := late.Live("hot"); got != v {
		t.Fatalf("late instance live = %d, want %d", got, v)
	}
}

// TestConcurrentPuts: publishers on several instances never share a number
// and the newest version ends up live.
func TestConcurrentPuts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	stores := []*Store{b.store, openStore(t, b.nats, b.ctx), openStore(t, b.nats, b.ctx)}
	const perStore = 5
	var mu sync.Mutex
	seen := map[int]bool{}
	var wg sync.WaitGroup
	for _, s := range stores {
		wg.Go(func() {
			for range perStore {
				v, err := s.Put(b.ctx, "race", smsDef("x. Reply STOP to opt out."), "ann", "")
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[v] {
					t.Errorf("version %d handed out twice", v)
				}
				seen[v] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	total := len(stores) * perStore
	info, err := b.store.Get(b.ctx, "race")
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Versions) != total || info.Live != total {
		t.Fatalf("versions %d live %d, want %d and %d", len(info.Versions), info.Live, total, total)
	}
}

func TestSeedBundled(t *testing.T) {
	t.Parallel()
	b := setup(t)
	n, err := b.store.Seed(b.ctx, filepath.Join(t.TempDir(), "missing"), "seed")
	if err != nil {
		t.Fatal(err)
	}
	defs, _ := Bundled()
	if n != len(defs) {
		t.Fatalf("seeded %d, want %d", n, len(defs))
	}
	list, err := b.store.List(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(defs) || list[0].ID != "call" || list[0].Live != 1 {
		t.Fatalf("list = %+v", list)
	}
	for id := range defs {
		if b.store.Live(id) != 1 {
			t.Errorf("%s not live after seeding", id)
		}
	}
	r, err := b.store.Render("installment_due", domain.SMS, "zh-CN", Sample("zh-CN"))
	if err != nil || !strings.Contains(r.Text, "¥400.00") || !strings.Contains(r.Text, "2026年4月5日") {
		t.Fatalf("render = %+v, %v", r, err)
	}
	// A store with templates is left alone.
	if n, err := b.store.Seed(b.ctx, "", "seed"); err != nil || n != 0 {
		t.Fatalf("second seed = %d, %v", n, err)
	}
}

func TestSeedDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello.yaml"), []byte("category: agreement\nchannels:\n  sms:\n    en-US: \"Hello {{.Borrower.Name}}\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := setup(t)
	n, err := b.store.Seed(b.ctx, dir, "seed")
	if err != nil || n != 1 {
		t.Fatalf("seed = %d, %v", n, err)
	}
	if r, err := b.store.Render("hello", domain.SMS, "zh-CN", Sample("zh-CN")); err != nil || r.Text != "Hello Alex Chen" {
		t.Fatalf("render = %+v, %v", r, err)
	}
	if _, err := b.store.Render("pre_due", domain.SMS, "en-US", Sample("en-US")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("bundled templates seeded too: %v", err)
	}
}

func TestSeedRefusesInvalidFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"good.yaml": "channels: {voice: {en-US: \"hi\"}}\n",
		"bad.yaml":  "category: collection\nchannels: {sms: {en-US: \"pay now\"}}\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b := setup(t)
	_, err := b.store.Seed(b.ctx, dir, "seed")
	var ve *ValidationError
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "bad.yaml") {
		t.Fatalf("seed = %v, want a validation error naming bad.yaml", err)
	}
	if list, _ := b.store.List(b.ctx); len(list) != 0 {
		t.Fatalf("partial seed: %+v", list)
	}
}

func TestSeedFromSeveralInstances(t *testing.T) {
	t.Parallel()
	b := setup(t)
	stores := []*Store{b.store, openStore(t, b.nats, b.ctx), openStore(t, b.nats, b.ctx)}
	var wg sync.WaitGroup
	for _, s := range stores {
		wg.Go(func() {
			if _, err := s.Seed(b.ctx, "", "seed"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	list, err := b.store.List(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range list {
		if len(info.Versions) != 1 || info.Live != 1 {
			t.Errorf("%s: %d versions, live %d", info.ID, len(info.Versions), info.Live)
		}
	}
}

func TestOddIDs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, id := range []string{"v2.promo", "a-b_c"} {
		if _, err := b.store.Put(b.ctx, id, smsDef("hi. STOP"), "ann", ""); err != nil {
			t.Fatalf("put %s: %v", id, err)
		}
		info, err := b.store.Get(b.ctx, id)
		if err != nil || info.ID != id || info.Live != 1 {
			t.Fatalf("get %s = %+v, %v", id, info, err)
		}
		if _, err := b.store.Render(id, domain.SMS, "en-US", Sample("en-US")); err != nil {
			t.Fatalf("render %s: %v", id, err)
		}
	}
}

func TestWaitVersionAfterClose(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.store.Close()
	if err := b.store.WaitVersion(b.ctx, "x", 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("wait on a closed store = %v", err)
	}
}

func BenchmarkStoreRender(b *testing.B) {
	n := testkit.StartNATS(b)
	ctx := testkit.Context(b, 30*time.Second)
	s, err := Open(ctx, n.JS, testLog())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Seed(ctx, "", "bench"); err != nil {
		b.Fatal(err)
	}
	data := Sample("zh-CN")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Render("pre_due", domain.SMS, "zh-CN", data); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
