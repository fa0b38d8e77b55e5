package console

import (
	"context"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/support"
)

// maxTimeline bounds the delivery records the borrower page shows: the
// newest, with a note when there are more (the API's ?limit= reads
// further).
const maxTimeline = 200

// borrowerView is the borrower page. It holds no contact point in full:
// the profile, opt-outs and delivery records carry masked addresses, and
// free texts (message texts, reasons) have the borrower's addresses
// masked wherever they appear.
type borrowerView struct {
	Href    string
	Profile profileView
	// Loc is the borrower's zone, for the second time column.
	Loc *time.Location
	// Now is when the page was made, on the instance's clock.
	Now          time.Time
	Cases        []support.Case
	Agreements   []agreementRow
	Suppressions []suppressionRow
	Next         []nextRow
	// Timeline: HasTimeline is false without an audit trail to read;
	// TimelineError when it could not be read this time.
	HasTimeline   bool
	TimelineError bool
	Deliveries    []deliveryRow
	MoreThan      int // > 0: there are more records than the MoreThan shown
	// Mute is the mute form (nil without an intake to mute through).
	Mute *muteForm
	// Acknowledged is the mute just added (?muted=), shown with the
	// guarantee's wording.
	Acknowledged *muteRow
	// Lifted is the id of the mute just lifted (?unmuted=).
	Lifted    string
	InboxHref string
}

// profileView is the borrower's profile, contact points masked.
type profileView struct {
	ID, Name, Locale string
	// Zone is the zone reminders are scheduled in; ZoneIsDefault when the
	// borrower has none of their own (scheduler.timezone).
	Zone          string
	ZoneIsDefault bool
	LocalTime     time.Time
	Phone, Email  string
	Blackouts     []blackoutRow
	Updated       time.Time
}

type installmentRow struct {
	N       int
	DueDate string
	Amount  string
}

type blackoutRow struct {
	Start, End string
	Channels   string
}

type agreementRow struct {
	domain.Agreement
	Loans string
	Plan  []installmentRow
	// DefaultPolicy: the agreement names no policy and follows
	// agreements.policy.
	DefaultPolicy bool
}

// suppressionRow is one suppression in force, what it stops, and which of
// the next reminders it holds back.
type suppressionRow struct {
	// Kind is mute, agreement, opt_out or ceased (as a check's rule names
	// it); ID what the block names (mute id, agreement id, channel,
	// borrower id).
	Kind, ID string
	Label    string
	Since    time.Time
	Mute     *muteRow
	Hold     *domain.Hold
	OptOut   *optOutRow
	// Blocks says what the suppression stops, in the viewer's language.
	Blocks string
	// Held are the next reminders it holds back (per channel).
	Held []heldRow
}

type muteRow struct {
	ID         string
	Channels   string    // in words; "every channel" when the mute names none
	Until      time.Time // zero: until lifted
	Reason     string
	By         string
	Created    time.Time
	UnmuteHref string
}

type optOutRow struct {
	Channel string
	Address string // masked; empty: every address on the channel
	Source  string
	At      time.Time
}

type heldRow struct {
	At      time.Time
	Step    string
	LoanID  string
	Channel string
}

// nextRow is an upcoming reminder with what would happen on each channel.
type nextRow struct {
	support.Upcoming
	PerChannel []checkRow
	// HeldBack: a rule or suppression would stop or delay it on some
	// channel.
	HeldBack bool
}

type checkRow struct {
	support.Check
	ChannelLabel, StatusLabel, RuleLabel string
	// UntilAt is Check.Until, zero when there is none.
	UntilAt time.Time
}

// deliveryRow is one record of the timeline, addresses masked. It holds
// the record's fields as the page shows them, each a field of its own: the
// page lists up to maxTimeline rows, and a template reads a promoted field
// of an embedded struct (or calls a method) far more slowly than a plain
// field (see BenchmarkBorrowerPage).
type deliveryRow struct {
	ID, Status, Channel, To   string
	Template, Step, LoanID    string
	TemplateVersion           int
	Subject, Text, Reason     string
	ProviderRef               string
	ChannelLabel, StatusLabel string
	// At is the record's time for the datetime attribute, AtYours in the
	// viewer's zone, AtBorrowers in the borrower's (as view.When shows
	// them).
	At                   string
	AtYours, AtBorrowers template.HTML
}

// getBorrower is the borrower page, /console/borrowers/{id}.
func (c *Console) getBorrower(w http.ResponseWriter, r *http.Request, rq *request) {
	c.showBorrower(w, r, rq, http.StatusOK, nil)
}

// showBorrower renders the borrower page with status; form, if not nil,
// is a refused mute form to show again with its errors.
func (c *Console) showBorrower(w http.ResponseWriter, r *http.Request, rq *request, status int, form *muteForm) {
	id := r.PathValue("id")
	v, err := c.o.Support.Borrowers.Borrower(r.Context(), id)
	if err != nil {
		c.supportFailure(w, r, rq, err)
		return
	}
	view := c.borrowerView(r.Context(), rq, v)
	if c.o.Support.Intake != nil {
		if form == nil {
			form = newMuteForm()
		}
		form.label(rq.Lang, view.Now, rq.Zone)
		form.Action = borrowerPath(v.ID) + "/mutes"
		view.Mute = form
	}
	q := r.URL.Query()
	if muted := q.Get("muted"); muted != "" {
		for _, s := range view.Suppressions {
			if s.Mute != nil && s.Mute.ID == muted {
				view.Acknowledged = s.Mute
			}
		}
	}
	if lifted := q.Get("unmuted"); lifted != "" && !slices.ContainsFunc(v.Suppressions.Mutes, func(m domain.Mute) bool { return m.ID == lifted }) {
		view.Lifted = lifted
	}
	title := v.Name
	if title == "" {
		title = v.ID
	}
	c.render(w, rq, status, "borrower", title, view)
}

// borrowerView turns the support read model into the page, masking every
// contact point and reading the newest delivery records.
func (c *Console) borrowerView(ctx context.Context, rq *request, v support.View) borrowerView {
	lang := rq.Lang
	loc := zoneOf(v.Zone)
	view := borrowerView{Href: borrowerPath(v.ID), Loc: loc, Now: c.o.Support.Clock.Now(), Cases: v.Cases}
	if c.o.Support.Inbox != nil {
		view.InboxHref = borrowerPath(v.ID) + "/inbox"
	}
	var records []domain.Delivery
	if rec := c.o.Support.Deliveries; rec != nil {
		view.HasTimeline = true
		list, err := rec.List(ctx, v.ID, maxTimeline+1)
		if err != nil {
			c.o.Log.WithError(err).Warn("console: delivery timeline unavailable")
			view.TimelineError = true
		}
		if len(list) > maxTimeline {
			list, view.MoreThan = list[:maxTimeline], maxTimeline
		}
		records = list
	}
	mask := maskerFor(v.Borrower, v.Suppressions, records)

	view.Profile = profileView{ID: v.ID, Name: v.Name, Locale: v.Locale, Zone: v.Zone, ZoneIsDefault: v.Timezone == "" || v.Timezone != v.Zone,
		LocalTime: v.LocalTime, Phone: maskAddress(domain.SMS, v.Phone), Email: maskAddress(domain.Email, v.Email), Updated: v.Updated}
	for _, b := range v.Blackouts {
		view.Profile.Blackouts = append(view.Profile.Blackouts, blackoutRow{Start: b.Start, End: b.End, Channels: channelWords(lang, b.Channels)})
	}
	for _, a := range v.Agreements {
		row := agreementRow{Agreement: a, Loans: strings.Join(a.LoanIDs, ", "), DefaultPolicy: a.Policy == ""}
		for i, in := range a.Installments {
			row.Plan = append(row.Plan, installmentRow{N: i + 1, DueDate: in.DueDate, Amount: in.Amount})
		}
		view.Agreements = append(view.Agreements, row)
	}
	for _, u := range v.Next {
		row := nextRow{Upcoming: u}
		for _, ch := range u.Checks {
			cr := checkRow{Check: ch, ChannelLabel: channelWord(lang, ch.Channel),
				StatusLabel: lang.T("support.status." + ch.Status), RuleLabel: ruleWord(lang, ch.Rule)}
			if ch.Until != nil {
				cr.UntilAt = *ch.Until
			}
			row.PerChannel = append(row.PerChannel, cr)
			if ch.Status != support.CheckAllowed {
				row.HeldBack = true
			}
		}
		view.Next = append(view.Next, row)
	}
	view.Suppressions = suppressionRows(lang, v, mask)
	for _, d := range records {
		view.Deliveries = append(view.Deliveries, deliveryRow{
			ID: d.ID, Status: string(d.Status), Channel: string(d.Channel), To: maskAddress(d.Channel, d.To),
			Template: d.Template, Step: d.Step, LoanID: d.LoanID, TemplateVersion: d.TemplateVersion,
			Subject: mask.text(d.Subject), Text: mask.text(d.Text), Reason: mask.text(d.Reason), ProviderRef: d.ProviderRef,
			ChannelLabel: channelWord(lang, d.Channel), StatusLabel: lang.T("support.status." + string(d.Status)),
			At: isoTime(d.At), AtYours: whenHTML(d.At, rq.Zone), AtBorrowers: whenHTML(d.At, loc),
		})
	}
	return view
}

// suppressionRows lists the suppressions in force: agreement holds, mutes,
// opt-outs and cease, each with what it stops and the next reminders whose
// check names it (a check's reason is the block's, domain.Block.Reason).
func suppressionRows(lang Lang, v support.View, mask masker) []suppressionRow {
	sup := v.Suppressions
	var rows []suppressionRow
	for _, h := range sup.Holds {
		rows = append(rows, suppressionRow{Kind: "agreement", ID: h.AgreementID, Since: h.Since, Hold: &h,
			Blocks: lang.T("suppression.blocks.agreement", strings.Join(h.LoanIDs, ", "))})
	}
	for _, m := range sup.Mutes {
		row := suppressionRow{Kind: "mute", ID: m.ID, Since: m.Created, Mute: &muteRow{ID: m.ID, Channels: channelWords(lang, m.Channels),
			Reason: mask.text(m.Reason), By: m.By, Created: m.Created, UnmuteHref: mutePath(v.ID, m.ID) + "/unmute"}}
		if m.Until != nil {
			row.Mute.Until = *m.Until
		}
		row.Blocks = lang.T("suppression.blocks.mute", row.Mute.Channels)
		rows = append(rows, row)
	}
	for _, o := range sup.OptOuts {
		row := suppressionRow{Kind: "opt_out", ID: string(o.Channel), Since: o.At,
			OptOut: &optOutRow{Channel: channelWord(lang, o.Channel), Address: maskAddress(o.Channel, o.Address), Source: o.Source, At: o.At}}
		if o.Address == "" {
			row.Blocks = lang.T("suppression.blocks.opt_out_all", row.OptOut.Channel)
		} else {
			row.Blocks = lang.T("suppression.blocks.opt_out", row.OptOut.Channel, row.OptOut.Address)
		}
		rows = append(rows, row)
	}
	if sup.Ceased != nil {
		rows = append(rows, suppressionRow{Kind: "ceased", ID: sup.BorrowerID, Since: *sup.Ceased,
			Blocks: lang.T("suppression.blocks.ceased")})
	}
	for i := range rows {
		rows[i].Label = lang.T("suppression.kind." + rows[i].Kind)
		block := domain.Block{Kind: rows[i].Kind, ID: rows[i].ID}.Reason()
		for _, u := range v.Next {
			for _, ch := range u.Checks {
				if ch.Status == support.CheckSuppressed && ch.Rule == rows[i].Kind && ch.Reason == block {
					rows[i].Held = append(rows[i].Held, heldRow{At: u.At, Step: u.Step, LoanID: u.LoanID, Channel: channelWord(lang, ch.Channel)})
				}
			}
		}
	}
	return rows
}

// channelWord is a channel's name in the viewer's language.
func channelWord(lang Lang, ch domain.Channel) string {
	if ch.Valid() {
		return lang.T("support.channel." + string(ch))
	}
	return string(ch)
}

// channelWords lists channels in words; none means every channel (as for a
// mute or a blackout).
func channelWords(lang Lang, chans []domain.Channel) string {
	if len(chans) == 0 {
		return lang.T("support.channel.all")
	}
	words := make([]string, len(chans))
	for i, ch := range chans {
		words[i] = channelWord(lang, ch)
	}
	return strings.Join(words, lang.T("support.list_sep"))
}

// ruleWord names the rule or suppression a check names, in the viewer's
// language (the name itself for one the console does not know).
func ruleWord(lang Lang, rule string) string {
	if rule == "" {
		return ""
	}
	if _, ok := catalog["support.rule."+rule]; ok {
		return lang.T("support.rule." + rule)
	}
	return rule
}
