package faketwilio

import (
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// list answers a Messages or Calls list with Twilio's paging fields, newest
// first, filtered by To, From, Status and the date filters twilio-go sends
// (DateSent for messages, StartTime for calls, with optional < or >
// suffix). A call not yet dialled has no start time and so matches no
// StartTime filter, as at Twilio.
func (s *Server) list(w http.ResponseWriter, r *http.Request, rec Record) {
	q := r.URL.Query()
	dateKey, listKey := "DateSent", "messages"
	if rec.Kind == Call {
		dateKey, listKey = "StartTime", "calls"
	}
	var filters []func(time.Time) bool
	for _, op := range []string{"", "<", ">"} {
		raw := q.Get(dateKey + op)
		if raw == "" {
			continue
		}
		at, dayOnly, err := parseDate(raw)
		if err != nil {
			s.finish(w, r, rec, nil, &apiError{status: http.StatusBadRequest, code: 20001, message: "Invalid " + dateKey + op + ": " + raw})
			return
		}
		filters = append(filters, dateFilter(op, at, dayOnly))
	}
	status := q.Get("Status")
	pageSize := 50
	if v := q.Get("PageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			s.finish(w, r, rec, nil, &apiError{status: http.StatusBadRequest, code: 20001, message: "Invalid PageSize"})
			return
		}
		pageSize = n
	}
	page := 0
	if v := q.Get("Page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.finish(w, r, rec, nil, &apiError{status: http.StatusBadRequest, code: 20001, message: "Invalid Page"})
			return
		}
		page = n
	}

	s.mu.Lock()
	var match []resource
	for i := len(s.created) - 1; i >= 0; i-- {
		res := s.created[i]
		if res.rec.Kind != rec.Kind || (rec.To != "" && res.rec.To != rec.To) || (rec.From != "" && res.rec.From != rec.From) ||
			(status != "" && res.status != status) {
			continue
		}
		at := res.created
		if rec.Kind == Call {
			at = res.started
		}
		ok := true
		for _, f := range filters {
			ok = ok && !at.IsZero() && f(at)
		}
		if ok {
			match = append(match, res)
		}
	}
	s.mu.Unlock()

	start := min(page*pageSize, len(match))
	end := min(start+pageSize, len(match))
	items := make([]map[string]any, 0, end-start)
	for _, res := range match[start:end] {
		items = append(items, s.render(res))
	}
	base := r.URL.Path
	pageURI := func(p int) string {
		v := url.Values{}
		for k, vs := range q {
			if k != "Page" && k != "PageToken" {
				v[k] = vs
			}
		}
		v.Set("PageSize", strconv.Itoa(pageSize))
		v.Set("Page", strconv.Itoa(p))
		return base + "?" + v.Encode()
	}
	body := map[string]any{
		listKey:             items,
		"page":              page,
		"page_size":         pageSize,
		"start":             start,
		"end":               max(end-1, start),
		"uri":               pageURI(page),
		"first_page_uri":    pageURI(0),
		"next_page_uri":     nil,
		"previous_page_uri": nil,
	}
	if end < len(match) {
		body["next_page_uri"] = pageURI(page + 1)
	}
	if page > 0 {
		body["previous_page_uri"] = pageURI(page - 1)
	}
	s.finish(w, r, rec, body, nil)
}

// parseDate accepts what Twilio does (YYYY-MM-DD) and what twilio-go sends
// (RFC 3339).
func parseDate(raw string) (time.Time, bool, error) {
	if t, err := time.Parse(time.DateOnly, raw); err == nil {
		return t, true, nil
	}
	t, err := time.Parse(time.RFC3339, raw)
	return t, false, err
}

func dateFilter(op string, at time.Time, dayOnly bool) func(time.Time) bool {
	if dayOnly {
		day := func(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }
		switch op {
		case ">":
			return func(t time.Time) bool { return !day(t).Before(at) }
		case "<":
			return func(t time.Time) bool { return !day(t).After(at) }
		default:
			return func(t time.Time) bool { return day(t).Equal(at) }
		}
	}
	switch op {
	case ">":
		return func(t time.Time) bool { return !t.Before(at) }
	case "<":
		return func(t time.Time) bool { return !t.After(at) }
	default:
		return func(t time.Time) bool { return t.Equal(at) }
	}
}
