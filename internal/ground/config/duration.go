package config

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration that also accepts a "d" (24h) unit, so
// "-3d", "1d12h" and "36h" all parse. It marshals back in Go syntax.
type Duration time.Duration

// dayNumber is the number before the "d" unit: digits with an optional
// fraction, as Go duration syntax writes numbers ("1", "1.5", ".5").
var dayNumber = regexp.MustCompile(`^([0-9]+(\.[0-9]*)?|\.[0-9]+)$`)

// ParseDuration parses Go duration syntax plus the "d" unit.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	neg := false
	rest := s
	if rest[0] == '-' || rest[0] == '+' {
		neg = rest[0] == '-'
		rest = rest[1:]
	}
	if rest == "" {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	var total time.Duration
	if i := strings.IndexByte(rest, 'd'); i >= 0 {
		// Plain decimal days only: strconv.ParseFloat would also take
		// "NaN", "Inf", "1e3" and "1_0", and a float beyond the
		// time.Duration range converts to garbage.
		if !dayNumber.MatchString(rest[:i]) {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		days, err := strconv.ParseFloat(rest[:i], 64)
		ns := days * float64(24*time.Hour)
		if err != nil || ns >= math.MaxInt64 {
			return 0, fmt.Errorf("invalid duration %q (out of range)", s)
		}
		total = time.Duration(ns)
		rest = rest[i+1:]
	}
	if rest != "" {
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		if total > math.MaxInt64-d {
			return 0, fmt.Errorf("invalid duration %q (out of range)", s)
		}
		total += d
	}
	if neg {
		total = -total
	}
	return total, nil
}

// UnmarshalText implements encoding.TextUnmarshaler (YAML, env, flags).
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Year is the length of the "y" unit of an Age: 365 days.
const Year = 365 * 24 * time.Hour

// DefaultRetention is audit.retention's default: three years (1095d).
const DefaultRetention = 3 * Year

// Age is a long duration: a whole number of years ("3y", 365 days each),
// or what Duration takes ("1095d", "36h"). Negative ages do not parse. It
// marshals in days when it is a whole number of them.
type Age time.Duration

// UnmarshalText implements encoding.TextUnmarshaler (YAML, env, flags).
func (a *Age) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if n, ok := strings.CutSuffix(s, "y"); ok {
		years, err := strconv.ParseUint(n, 10, 16)
		if err != nil || years > 200 {
			return fmt.Errorf("invalid age %q (whole years, at most 200)", s)
		}
		*a = Age(time.Duration(years) * Year)
		return nil
	}
	if s == "0" {
		*a = 0
		return nil
	}
	d, err := ParseDuration(s)
	if err != nil {
		return err
	}
	if d < 0 {
		return fmt.Errorf("invalid age %q (negative)", s)
	}
	*a = Age(d)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (a Age) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// String is the age in days ("1095d") when it is a whole number of them,
// else in Go syntax.
func (a Age) String() string {
	d := time.Duration(a)
	if d != 0 && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

// D returns the value as a time.Duration.
func (a Age) D() time.Duration { return time.Duration(a) }
