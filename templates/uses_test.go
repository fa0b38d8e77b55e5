package templates

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/testkit"
)

// TestPolicyCategoryAppliesToUncategorisedTemplates: a template whose file
// declares no category but that a collection policy sends is held to the
// collection rules (opt-out wording in SMS and email) at Put, at Seed and
// in a draft preview; a template no policy sends is not.
func TestPolicyCategoryAppliesToUncategorisedTemplates(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	ctx := testkit.Context(t, 30*time.Second)
	_, js := n.Connect(t)
	uses := map[string][]Use{
		"nudge": {{Policy: "standard", Category: CategoryCollection}},
		"plan":  {{Policy: "plan", Category: CategoryAgreement}},
	}
	s, err := Open(ctx, js, testLog(), WithUses(uses))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	plain := func(body string) Definition {
		return Definition{Channels: map[domain.Channel]map[string]Text{domain.SMS: {"en-US": {Body: body}}}}
	}
	const noOptOut, withOptOut = "Hi {{.Borrower.Name}}, please pay.", "Hi {{.Borrower.Name}}, please pay. Reply STOP to opt out."

	wantOptOutError := func(what string, err error) {
		t.Helper()
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Channel != "sms" || ve.Locale != "en-US" || !strings.Contains(ve.Problem, "opt out") || !strings.Contains(ve.Problem, `"standard"`) {
			t.Errorf("%s = %v, want an opt-out ValidationError for sms en-US naming policy standard", what, err)
		}
	}

	// Seeding: the seeded files are validated with the policies' categories.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "nudge.yaml"), []byte("channels:\n  sms:\n    en-US: \""+noOptOut+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Seed(ctx, dir, "seed"); err == nil || !strings.Contains(err.Error(), "nudge.yaml") {
		t.Errorf("seed of nudge.yaml without opt-out wording = %v, want refused naming the file", err)
	} else {
		wantOptOutError("seed", err)
	}

	// Put.
	_, err = s.Put(ctx, "nudge", plain(noOptOut), "ann", "")
	wantOptOutError("put nudge without opt-out wording", err)
	if v, err := s.Put(ctx, "nudge", plain(withOptOut), "ann", ""); err != nil || v != 1 {
		t.Errorf("put nudge with opt-out wording = %d, %v, want version 1", v, err)
	}
	// Neither a template only an agreement policy sends nor one no policy
	// sends needs the wording.
	for _, id := range []string{"plan", "unused"} {
		if _, err := s.Put(ctx, id, plain(noOptOut), "ann", ""); err != nil {
			t.Errorf("put %s without opt-out wording = %v, want accepted", id, err)
		}
	}

	// Preview of a draft, and Validate.
	_, err = s.RenderDraft("nudge", plain(noOptOut), domain.SMS, "en-US", Sample("en-US"))
	wantOptOutError("draft preview of nudge", err)
	if _, err := s.RenderDraft("nudge", plain(withOptOut), domain.SMS, "en-US", Sample("en-US")); err != nil {
		t.Errorf("draft preview of nudge with opt-out wording = %v", err)
	}
	wantOptOutError("validate nudge", s.Validate("nudge", plain(noOptOut)))
}
