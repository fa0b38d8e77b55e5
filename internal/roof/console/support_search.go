package console

import (
	"errors"
	"net/http"
	"strings"

	"github.com/forbear/forbear/internal/support"
)

// searchView is the search page: the box, and what the query found.
type searchView struct {
	Query string
	// MaxQuery bounds the box (support.MaxQuery bytes).
	MaxQuery int
	Searched bool
	Error    string
	Matches  []searchRow
	// Full: the search stopped at support.MaxMatches borrowers.
	Full bool
}

// searchRow is one borrower a search found.
type searchRow struct {
	support.Match
	Href string
	// Matched says what matched, in the viewer's language.
	Matched string
}

// getSearch is the search page, GET /console/search?q=: a borrower by id,
// loan id, email or phone number in any format (support.Service.Search, as
// GET /v1/search). One borrower found opens their page; several are
// listed.
func (c *Console) getSearch(w http.ResponseWriter, r *http.Request, rq *request) {
	view := searchView{MaxQuery: support.MaxQuery}
	title := rq.Lang.T("search.title")
	if !r.URL.Query().Has("q") {
		c.render(w, rq, http.StatusOK, "search", title, view)
		return
	}
	view.Query, view.Searched = r.URL.Query().Get("q"), true
	matches, err := c.o.Support.Borrowers.Search(r.Context(), view.Query)
	if errors.Is(err, support.ErrQuery) {
		view.Error = rq.Lang.T("search.invalid", strings.TrimPrefix(err.Error(), support.ErrQuery.Error()+": "))
		if strings.TrimSpace(view.Query) == "" {
			view.Error = rq.Lang.T("search.empty")
		}
		c.render(w, rq, http.StatusBadRequest, "search", title, view)
		return
	}
	if err != nil {
		c.supportFailure(w, r, rq, err)
		return
	}
	if len(matches) == 1 {
		http.Redirect(w, r, borrowerPath(matches[0].BorrowerID), http.StatusSeeOther)
		return
	}
	for _, m := range matches {
		view.Matches = append(view.Matches, searchRow{Match: m, Href: borrowerPath(m.BorrowerID),
			Matched: rq.Lang.T("search.field." + m.Field)})
	}
	view.Full = len(matches) >= support.MaxMatches
	c.render(w, rq, http.StatusOK, "search", title, view)
}
