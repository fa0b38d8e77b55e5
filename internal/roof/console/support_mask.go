package console

import (
	"cmp"
	"slices"
	"strings"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/logging"
)

// The support pages never show a contact point in full: the API shows them
// to support staff, but a page on a desk is read over shoulders and shared
// in screenshots. Addresses are masked as in forbear's logs
// (internal/ground/logging).

// maskAddress masks a channel's address: a phone number for SMS and
// voice, an email address for email. An in-app address is the borrower id,
// shown as it is.
func maskAddress(ch domain.Channel, address string) string {
	if address == "" {
		return ""
	}
	switch ch {
	case domain.SMS, domain.Voice:
		return logging.Phone(address)
	case domain.Email:
		return logging.Email(address)
	}
	return address
}

// masker masks a borrower's addresses inside free text: the rendered
// message of a record, a mute's reason, an in-app message.
type masker struct{ r *strings.Replacer }

// maskerFor masks every address of the borrower's that the page may meet:
// the current phone and email, the opted-out addresses and the addresses
// the records were sent to (which may be older ones).
func maskerFor(b domain.Borrower, sup domain.Suppressions, records []domain.Delivery) masker {
	type address struct {
		ch domain.Channel
		a  string
	}
	addrs := []address{{domain.SMS, b.Phone}, {domain.Email, b.Email}}
	for _, o := range sup.OptOuts {
		addrs = append(addrs, address{o.Channel, o.Address})
	}
	for _, d := range records {
		addrs = append(addrs, address{d.Channel, d.To})
	}
	for _, a := range addrs {
		// A provider's message may give a number without its "+".
		if digits, ok := strings.CutPrefix(a.a, "+"); ok && a.ch != domain.Email {
			addrs = append(addrs, address{a.ch, digits})
		}
	}
	seen := map[string]bool{}
	var list []address
	for _, a := range addrs {
		// Too short to be an address: masking it would mangle the text.
		if len(a.a) < minMasked || seen[a.a] || maskAddress(a.ch, a.a) == a.a {
			continue
		}
		seen[a.a] = true
		list = append(list, a)
	}
	// The longest first: a replacer tries its pairs in order, and one
	// address may begin another.
	slices.SortFunc(list, func(x, y address) int { return cmp.Compare(len(y.a), len(x.a)) })
	pairs := make([]string, 0, 2*len(list))
	for _, a := range list {
		pairs = append(pairs, a.a, maskAddress(a.ch, a.a))
	}
	return masker{r: strings.NewReplacer(pairs...)}
}

// minMasked is the shortest address masked inside free text.
const minMasked = 6

// text masks the borrower's addresses in s.
func (m masker) text(s string) string { return m.r.Replace(s) }
