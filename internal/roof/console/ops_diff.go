package console

import (
	"errors"
	"net/http"
	"unicode"

	"github.com/forbear/forbear/templates"
)

// diffView is the page of the differences between two versions.
type diffView struct {
	ID       string
	Path     string // the editor's path
	From, To int
	Changes  []changeView
	Versions []versionRow
}

// changeView is one templates.Change with its texts cut into words marked
// as kept, removed or added.
type changeView struct {
	templates.Change
	Before []diffPart
	After  []diffPart
}

// diffPart is a piece of a text in a diff.
type diffPart struct {
	Text    string
	Removed bool
	Added   bool
}

// getDiff compares two saved versions: ?from=&to=, as GET
// /v1/templates/{id}/diff takes them (to defaults to the live version,
// from to the one before to), with the store's CompareVersions.
func (c *Console) getDiff(w http.ResponseWriter, r *http.Request, rq *request) {
	store := c.o.Ops.Templates
	if store == nil {
		c.fail(w, rq, http.StatusNotFound)
		return
	}
	id := r.PathValue("id")
	var versions [2]int
	for i, key := range []string{"from", "to"} {
		n, err := templates.ParseVersion(r.URL.Query().Get(key))
		if err != nil {
			c.failWith(w, rq, http.StatusBadRequest, rq.Lang.T("versions.bad", key))
			return
		}
		versions[i] = n
	}
	info, err := store.Get(r.Context(), id)
	if errors.Is(err, templates.ErrNotFound) {
		c.fail(w, rq, http.StatusNotFound)
		return
	}
	if err != nil {
		c.opsInternal(w, rq, err)
		return
	}
	if versions[1] == 0 {
		versions[1] = info.Live // known already: no second read
	}
	cmp, err := store.CompareVersions(r.Context(), id, versions[0], versions[1])
	var unknown *templates.UnknownVersionError
	if errors.As(err, &unknown) {
		c.failWith(w, rq, http.StatusNotFound, rq.Lang.T("versions.unknown", unknown.Version))
		return
	}
	if err != nil {
		c.opsInternal(w, rq, err)
		return
	}
	from, to := cmp.From, cmp.To
	v := diffView{ID: id, Path: templatePath(id), From: from, To: to}
	for _, ch := range cmp.Changes {
		before, after := wordDiff(ch.Before, ch.After)
		v.Changes = append(v.Changes, changeView{Change: ch, Before: before, After: after})
	}
	for i := len(info.Versions) - 1; i >= 0; i-- {
		m := info.Versions[i]
		v.Versions = append(v.Versions, versionRow{VersionMeta: m, Live: m.Version == info.Live})
	}
	c.render(w, rq, http.StatusOK, "templates_diff", rq.Lang.T("diff.title", id, from, to), v)
}

// maxDiffCells bounds the work of one word diff (tokens before × tokens
// after); longer texts are shown as removed and added whole.
const maxDiffCells = 250_000

// wordDiff cuts before and after into words and marks what after removed
// from before and what it added: the longest common sequence of words is
// kept. Han characters count as words of their own, since Chinese has no
// spaces.
func wordDiff(before, after string) (b, a []diffPart) {
	x, y := tokens(before), tokens(after)
	if len(x) == 0 || len(y) == 0 || len(x)*len(y) > maxDiffCells {
		return whole(before, true), whole(after, false)
	}
	// lcs[i][j] is the length of the longest common sequence of x[i:] and
	// y[j:], in one flat slice.
	w := len(y) + 1
	lcs := make([]int32, (len(x)+1)*w)
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i*w+j] = lcs[(i+1)*w+j+1] + 1
			} else {
				lcs[i*w+j] = max(lcs[(i+1)*w+j], lcs[i*w+j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(x) && j < len(y) {
		switch {
		case x[i] == y[j]:
			b, a = appendPart(b, x[i], false, false), appendPart(a, y[j], false, false)
			i, j = i+1, j+1
		case lcs[(i+1)*w+j] >= lcs[i*w+j+1]:
			b = appendPart(b, x[i], true, false)
			i++
		default:
			a = appendPart(a, y[j], false, true)
			j++
		}
	}
	for ; i < len(x); i++ {
		b = appendPart(b, x[i], true, false)
	}
	for ; j < len(y); j++ {
		a = appendPart(a, y[j], false, true)
	}
	return b, a
}

// whole is a text entirely removed (or added), or nothing for "".
func whole(s string, removed bool) []diffPart {
	if s == "" {
		return nil
	}
	return []diffPart{{Text: s, Removed: removed, Added: !removed}}
}

// appendPart adds a token, joining it to the last part when marked alike.
func appendPart(parts []diffPart, tok string, removed, added bool) []diffPart {
	if n := len(parts); n > 0 && parts[n-1].Removed == removed && parts[n-1].Added == added {
		parts[n-1].Text += tok
		return parts
	}
	return append(parts, diffPart{Text: tok, Removed: removed, Added: added})
}

// tokens cuts s into runs of spaces, runs of letters and digits, and
// single other characters (punctuation, Han characters); joined, they
// give s back.
func tokens(s string) []string {
	var out []string
	kind := func(r rune) int {
		switch {
		case unicode.IsSpace(r):
			return 1
		case unicode.Is(unicode.Han, r):
			return 0 // a word of its own
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_':
			return 2
		}
		return 0
	}
	start, prev := 0, -1
	for i, r := range s {
		k := kind(r)
		if i > 0 && (k == 0 || k != prev) {
			out = append(out, s[start:i])
			start = i
		}
		prev = k
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}
