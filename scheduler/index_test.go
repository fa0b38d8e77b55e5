package scheduler

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestRangeFilters(t *testing.T) {
	t.Parallel()
	at := func(y int, m time.Month, d, hh, mm int) time.Time { return time.Date(y, m, d, hh, mm, 0, 0, time.UTC) }
	tests := []struct {
		name        string
		after, upto time.Time
		want        []string
	}{
		{"empty", at(2025, 3, 12, 10, 5), at(2025, 3, 12, 10, 5), nil},
		{"backwards", at(2025, 3, 12, 10, 5), at(2025, 3, 12, 10, 0), nil},
		{"one minute", at(2025, 3, 12, 10, 4), at(2025, 3, 12, 10, 5), []string{"t.2025.03.12.10.05.>"}},
		{"whole hour", at(2025, 3, 12, 9, 59), at(2025, 3, 12, 10, 59), []string{"t.2025.03.12.10.>"}},
		{"across an hour", at(2025, 3, 12, 9, 58), at(2025, 3, 12, 10, 1), []string{
			"t.2025.03.12.09.59.>", "t.2025.03.12.10.00.>", "t.2025.03.12.10.01.>",
		}},
		{"whole year", at(2024, 12, 31, 23, 59), at(2025, 12, 31, 23, 59), []string{"t.2025.>"}},
		{"ten days", at(2025, 3, 2, 2, 0), at(2025, 3, 12, 1, 0), []string{
			"t.2025.03.02.02.01.>", "t.2025.03.02.02.02.>",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := rangeFilters(tt.after, tt.upto)
			if tt.name == "ten days" {
				// Checked by coverage below; here only the shape.
				if len(got) > 120 || got[0] != tt.want[0] {
					t.Errorf("got %d filters starting %v", len(got), got[:2])
				}
				return
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("rangeFilters = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestRangeFiltersCover checks on random ranges that the filters match a
// minute's key exactly when the minute is in (after, upto].
func TestRangeFiltersCover(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2024, 12, 20, 0, 0, 0, 0, time.UTC)
	matches := func(filters []string, m time.Time) int {
		key := minuteToken(m) + ".loan.L1"
		n := 0
		for _, f := range filters {
			if strings.HasPrefix(key, strings.TrimSuffix(f, ">")) {
				n++
			}
		}
		return n
	}
	for i := 0; i < 200; i++ {
		after := base.Add(time.Duration(r.IntN(60*24*40)) * time.Minute)
		upto := after.Add(time.Duration(r.IntN(60*24*(1+r.IntN(60)))) * time.Minute)
		filters := rangeFilters(after, upto)
		if len(filters) > 300 {
			t.Fatalf("%d filters for %s..%s", len(filters), after, upto)
		}
		// Probe the edges and random minutes around the range.
		probes := []time.Time{after, after.Add(time.Minute), upto, upto.Add(time.Minute), after.Add(-time.Hour)}
		for j := 0; j < 50; j++ {
			probes = append(probes, after.Add(time.Duration(r.IntN(int(upto.Sub(after)/time.Minute)+120)-60)*time.Minute))
		}
		for _, m := range probes {
			want := 0
			if m.After(after) && !m.After(upto) {
				want = 1
			}
			if got := matches(filters, m); got != want {
				t.Fatalf("range (%s, %s]: minute %s matched %d filters, want %d", after, upto, m, got, want)
			}
		}
	}
	// The first sweep ever lists from the epoch: still few filters.
	if n := len(rangeFilters(indexEpoch().Add(-time.Minute), time.Date(2025, 3, 12, 9, 0, 0, 0, time.UTC))); n > 80 {
		t.Errorf("epoch range: %d filters", n)
	}
}

func TestIndexKeys(t *testing.T) {
	t.Parallel()
	sub := subject{kind: KindLoan, id: "loan 7/x"}
	key := sub.timeKey(time.Date(2025, 3, 12, 10, 4, 1, 0, time.UTC))
	if !strings.HasPrefix(key, "t.2025.03.12.10.05.loan.=") {
		t.Errorf("timeKey rounds up to the minute: %q", key)
	}
	if got := sub.timeKey(time.Date(2025, 3, 12, 10, 4, 0, 0, time.UTC)); !strings.HasPrefix(got, "t.2025.03.12.10.04.") {
		t.Errorf("timeKey on the minute: %q", got)
	}
	for _, k := range []string{key, sub.nowKey()} {
		got, ok := parseEntryKey(k)
		if !ok || got != sub {
			t.Errorf("parseEntryKey(%q) = %+v, %v", k, got, ok)
		}
	}
	for _, bad := range []string{"cursor", "k.loan.L1", "t.2025.loan.L1", "now.cat.L1"} {
		if _, ok := parseEntryKey(bad); ok {
			t.Errorf("parseEntryKey(%q) accepted", bad)
		}
	}
}
