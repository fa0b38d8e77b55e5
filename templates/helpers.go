package templates

import (
	"fmt"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// formatter formats money, dates and day counts for one locale. Templates
// are parsed with the helpers of the locale their text is written in, so a
// zh-CN text always reads "2026年3月5日" and an en-US text "Mar 5, 2026",
// whichever borrower it ends up with; binding at parse time also means the
// hot path never clones or re-parses a template.
type formatter struct {
	zh bool // Chinese conventions; everything else follows en-US
}

func newFormatter(locale string) formatter {
	lang, _, _ := strings.Cut(locale, "-")
	return formatter{zh: strings.EqualFold(lang, "zh")}
}

// funcs is the helper set a template of this locale is parsed with.
func (f formatter) funcs() template.FuncMap {
	return template.FuncMap{
		"money": f.money,
		"date":  f.date,
		"days":  f.days,
	}
}

// money formats a decimal amount string ("1200.00", as events carry it,
// never a float) in a currency: "$1,200.00", "CN¥1,200.00", "¥1,200.00" in
// zh-CN, "1,200.00 EUR" for currencies without a familiar symbol.
func (f formatter) money(amount, currency string) (string, error) {
	cur := strings.ToUpper(strings.TrimSpace(currency))
	if cur != "" && !isCurrencyCode(cur) {
		return "", fmt.Errorf("money: currency %q is not a three-letter code", currency)
	}
	num, neg, err := formatDecimal(strings.TrimSpace(amount), minorUnits(cur))
	if err != nil {
		return "", err
	}
	sign := ""
	if neg {
		sign = "-"
	}
	if sym := f.symbol(cur); sym != "" {
		return sign + sym + num, nil
	}
	if cur == "" {
		return sign + num, nil
	}
	return sign + num + " " + cur, nil
}

// symbol is the prefix symbol of a currency in this locale, or "" when the
// code is written after the number instead.
func (f formatter) symbol(cur string) string {
	switch {
	case cur == "USD" && f.zh:
		return "US$"
	case cur == "USD":
		return "$"
	case cur == "CNY" && f.zh:
		return "¥"
	case cur == "CNY":
		return "CN¥"
	}
	return ""
}

// date formats a YYYY-MM-DD date: "Jan 2, 2006" or "2006年1月2日".
func (f formatter) date(s string) (string, error) {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		return "", fmt.Errorf("date: %q is not a YYYY-MM-DD date", s)
	}
	if f.zh {
		return strconv.Itoa(t.Year()) + "年" + strconv.Itoa(int(t.Month())) + "月" + strconv.Itoa(t.Day()) + "日", nil
	}
	return t.Format("Jan 2, 2006"), nil
}

// days formats a count of days: "1 day", "3 days", "3天".
func (f formatter) days(n int) string {
	s := strconv.Itoa(n)
	switch {
	case f.zh:
		return s + "天"
	case n == 1 || n == -1:
		return s + " day"
	default:
		return s + " days"
	}
}

func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// minorUnits is the number of decimals a currency is written with (ISO
// 4217); most have two.
func minorUnits(cur string) int {
	switch cur {
	case "JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF", "PYG":
		return 0
	case "BHD", "KWD", "OMR", "JOD", "TND":
		return 3
	}
	return 2
}

// formatDecimal rounds a decimal string half away from zero to places
// decimals and groups the integer digits in thousands. It works on the
// digits themselves: amounts are money and never pass through a float.
func formatDecimal(amount string, places int) (string, bool, error) {
	s, neg := amount, false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || !allDigits(intPart) || (hasDot && (frac == "" || !allDigits(frac))) {
		return "", false, fmt.Errorf("money: amount %q is not a decimal number", amount)
	}
	// digits holds the integer part followed by exactly places decimals.
	digits := make([]byte, 0, len(intPart)+places+1)
	digits = append(digits, intPart...)
	if len(frac) >= places {
		digits = append(digits, frac[:places]...)
	} else {
		digits = append(digits, frac...)
		for i := len(frac); i < places; i++ {
			digits = append(digits, '0')
		}
	}
	if len(frac) > places && frac[places] >= '5' {
		i := len(digits) - 1
		for ; i >= 0 && digits[i] == '9'; i-- {
			digits[i] = '0'
		}
		if i >= 0 {
			digits[i]++
		} else {
			digits = append([]byte{'1'}, digits...)
		}
	}
	whole, dec := digits[:len(digits)-places], digits[len(digits)-places:]
	for len(whole) > 1 && whole[0] == '0' {
		whole = whole[1:]
	}
	zero := len(whole) == 1 && whole[0] == '0' && strings.Count(string(dec), "0") == len(dec)
	var b strings.Builder
	b.Grow(len(whole) + len(whole)/3 + len(dec) + 1)
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(c)
	}
	if places > 0 {
		b.WriteByte('.')
		b.Write(dec)
	}
	return b.String(), neg && !zero, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
