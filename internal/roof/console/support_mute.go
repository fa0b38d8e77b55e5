package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/forbear/forbear/dispatcher/intake"
	"github.com/forbear/forbear/internal/ground/domain"
)

// Mute form fields are named as in the API's JSON body: channels, until,
// reason.
const (
	fieldChannels = "channels"
	fieldUntil    = "until"
	fieldReason   = "reason"
)

// mutePresets are the until choices besides a date: how long from now.
// The empty choice is a mute without end, lifted by hand (the API's mute
// without until).
var mutePresets = []mutePreset{
	{"1d", 24 * time.Hour},
	{"7d", 7 * 24 * time.Hour},
	{"30d", 30 * 24 * time.Hour},
	{"", 0},
}

type mutePreset struct {
	value string
	d     time.Duration
}

// defaultPreset is the until choice a fresh form has.
const defaultPreset = "7d"

// muteForm is the borrower page's mute form: empty, or as posted with what
// was refused.
type muteForm struct {
	Action string
	// Channels are the checkboxes (none checked: every channel) and Until
	// the radio buttons of the presets; label fills both.
	Channels []choice
	Until    []choice
	// UntilDate is the date input's value; a date, when given, is used
	// instead of the preset.
	UntilDate string
	// MinDate is today in the viewer's zone (the date input's min).
	MinDate   string
	Reason    string
	MaxReason int
	// Errors are by field (channels, until, reason); "" is the form's own
	// (a limit the intake reached, say).
	Errors map[string]string

	channels []string
	until    string
}

// choice is one checkbox or radio button.
type choice struct {
	ID, Value, Label string
	Checked          bool
}

func newMuteForm() *muteForm {
	return &muteForm{until: defaultPreset, Errors: map[string]string{}}
}

// parseMuteForm reads a posted mute form. until takes a preset (1d, 7d,
// 30d, empty for no end) and, from the date input of the same name, a date
// (YYYY-MM-DD, midnight in the viewer's zone) or an RFC 3339 time, which
// wins over the preset.
func parseMuteForm(r *http.Request) *muteForm {
	f := &muteForm{channels: r.PostForm[fieldChannels], Reason: r.PostFormValue(fieldReason), Errors: map[string]string{}}
	for _, v := range r.PostForm[fieldUntil] {
		switch v = strings.TrimSpace(v); {
		case v == "":
		case slices.ContainsFunc(mutePresets, func(p mutePreset) bool { return p.value == v }):
			f.until = v
		default:
			f.UntilDate = v
		}
	}
	return f
}

// request makes the API's mute request of the form at now, or says beside
// until why it cannot (a value that is neither a preset nor a date). What
// the request asks is for the intake to judge.
func (f *muteForm) request(lang Lang, now time.Time, viewer *time.Location) (intake.MuteRequest, bool) {
	req := intake.MuteRequest{Reason: f.Reason}
	for _, ch := range f.channels {
		req.Channels = append(req.Channels, domain.Channel(ch))
	}
	if f.UntilDate != "" {
		t, err := time.ParseInLocation(time.DateOnly, f.UntilDate, viewer)
		if err != nil {
			t, err = time.Parse(time.RFC3339, f.UntilDate)
		}
		if err != nil {
			f.Errors[fieldUntil] = lang.T("mute.until_bad", f.UntilDate)
			return req, false
		}
		req.Until = &t
		return req, true
	}
	for _, p := range mutePresets {
		if p.value == f.until && p.d > 0 {
			t := now.Add(p.d)
			req.Until = &t
		}
	}
	return req, true
}

// label fills the form's choices in the viewer's language, checked as
// posted.
func (f *muteForm) label(lang Lang, now time.Time, viewer *time.Location) {
	f.Channels, f.Until = nil, nil
	for _, ch := range domain.Channels {
		f.Channels = append(f.Channels, choice{ID: "mute-channel-" + string(ch), Value: string(ch),
			Label: channelWord(lang, ch), Checked: slices.Contains(f.channels, string(ch))})
	}
	for _, p := range mutePresets {
		id := "mute-until-" + p.value
		if p.value == "" {
			id = "mute-until-none"
		}
		f.Until = append(f.Until, choice{ID: id, Value: p.value, Label: lang.T("mute.until." + strings.TrimPrefix(id, "mute-until-")),
			Checked: f.until == p.value})
	}
	f.MinDate = now.In(viewer).Format(time.DateOnly)
	f.MaxReason = intake.MaxReasonBytes
}

// postMute adds a mute through the intake, as POST /v1/borrowers/{id}/mutes
// does: the answer, a redirect to the borrower page showing the mute,
// comes once the mute is fenced. A refusal shows the form again with the
// intake's reason beside the field it names.
func (c *Console) postMute(w http.ResponseWriter, r *http.Request, rq *request) {
	in := c.o.Support.Intake
	if in == nil {
		c.fail(w, rq, http.StatusNotFound)
		return
	}
	id := r.PathValue("id")
	form := parseMuteForm(r)
	req, ok := form.request(rq.Lang, c.o.Support.Clock.Now(), rq.Zone)
	if !ok {
		c.showBorrower(w, r, rq, http.StatusBadRequest, form)
		return
	}
	m, err := in.AddMute(r.Context(), id, req, rq.Principal.Name)
	var fe *intake.FieldError
	switch {
	case err == nil:
		http.Redirect(w, r, borrowerPath(id)+"?muted="+url.QueryEscape(m.ID)+"#acknowledged", http.StatusSeeOther)
	case errors.As(err, &fe) && fe.Code != intake.CodeNotFound:
		form.Errors[formField(fe.Field)] = fe.Message
		status := http.StatusBadRequest
		if fe.Code == intake.CodeLimitReached {
			status = http.StatusConflict
		}
		c.showBorrower(w, r, rq, status, form)
	default:
		c.supportFailure(w, r, rq, err)
	}
}

// formField is the form field an intake error names ("channels[2]" is
// the channels boxes); "" for one the form does not have.
func formField(apiField string) string {
	for _, f := range []string{fieldChannels, fieldUntil, fieldReason} {
		if apiField == f || strings.HasPrefix(apiField, f+"[") {
			return f
		}
	}
	return ""
}

// unmuteView is the unmute confirmation page.
type unmuteView struct {
	BorrowerID, BorrowerName, BorrowerHref string
	Mute                                   muteRow
	Action                                 string
}

// getUnmute asks before lifting a mute: its details and a form that posts
// (and asks again in the browser when JavaScript runs).
func (c *Console) getUnmute(w http.ResponseWriter, r *http.Request, rq *request) {
	if c.o.Support.Intake == nil {
		c.fail(w, rq, http.StatusNotFound)
		return
	}
	v, err := c.o.Support.Borrowers.Borrower(r.Context(), r.PathValue("id"))
	if err != nil {
		c.supportFailure(w, r, rq, err)
		return
	}
	muteID := r.PathValue("mute_id")
	mask := maskerFor(v.Borrower, v.Suppressions, nil)
	for _, row := range suppressionRows(rq.Lang, v, mask) {
		if row.Mute != nil && row.Mute.ID == muteID {
			c.render(w, rq, http.StatusOK, "unmute", rq.Lang.T("unmute.title"), unmuteView{
				BorrowerID: v.ID, BorrowerName: v.Name, BorrowerHref: borrowerPath(v.ID), Mute: *row.Mute, Action: row.Mute.UnmuteHref})
			return
		}
	}
	c.failWith(w, rq, http.StatusNotFound, rq.Lang.T("unmute.unknown", muteID))
}

// postUnmute lifts a mute through the intake (as DELETE
// /v1/borrowers/{id}/mutes/{mute_id}) and goes back to the borrower page.
func (c *Console) postUnmute(w http.ResponseWriter, r *http.Request, rq *request) {
	in := c.o.Support.Intake
	if in == nil {
		c.fail(w, rq, http.StatusNotFound)
		return
	}
	id, muteID := r.PathValue("id"), r.PathValue("mute_id")
	err := in.DeleteMute(r.Context(), id, muteID, rq.Principal.Name)
	switch {
	case err == nil:
		http.Redirect(w, r, borrowerPath(id)+"?unmuted="+url.QueryEscape(muteID)+"#lifted", http.StatusSeeOther)
	case errors.Is(err, intake.ErrNotFound):
		// An unknown borrower, or a mute no longer in force (lifted in
		// another tab, or expired).
		c.failWith(w, rq, http.StatusNotFound, rq.Lang.T("unmute.unknown", muteID))
	default:
		c.supportFailure(w, r, rq, err)
	}
}
