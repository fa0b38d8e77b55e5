package templates

import "testing"

func TestMoney(t *testing.T) {
	t.Parallel()
	tests := []struct {
		locale, amount, currency string
		want                     string
		wantErr                  bool
	}{
		{"en-US", "1200.00", "USD", "$1,200.00", false},
		{"en-US", "1200", "usd", "$1,200.00", false},
		{"en-US", "1200.00", "CNY", "CN¥1,200.00", false},
		{"zh-CN", "1200.00", "CNY", "¥1,200.00", false},
		{"zh-CN", "1200.00", "USD", "US$1,200.00", false},
		{"en-US", "1200.00", "EUR", "1,200.00 EUR", false},
		{"zh-CN", "1200.5", "EUR", "1,200.50 EUR", false},
		{"en-US", "1234567.891", "USD", "$1,234,567.89", false},
		{"en-US", "0.005", "USD", "$0.01", false},
		{"en-US", "999.995", "USD", "$1,000.00", false},
		{"en-US", "-42.1", "USD", "-$42.10", false},
		{"en-US", "-0.001", "USD", "$0.00", false},
		{"en-US", "007", "USD", "$7.00", false},
		{"en-US", "5000", "JPY", "5,000 JPY", false},
		{"en-US", "12.5", "JPY", "13 JPY", false},
		{"en-US", "1.2345", "KWD", "1.235 KWD", false},
		{"en-US", "12.00", "", "12.00", false},
		{"en-US", "1,200.00", "USD", "", true},
		{"en-US", "1e3", "USD", "", true},
		{"en-US", "", "USD", "", true},
		{"en-US", ".5", "USD", "", true},
		{"en-US", "5.", "USD", "", true},
		{"en-US", "12.00", "DOLLARS", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.locale+"/"+tt.amount+"/"+tt.currency, func(t *testing.T) {
			t.Parallel()
			got, err := newFormatter(tt.locale).money(tt.amount, tt.currency)
			if (err != nil) != tt.wantErr {
				t.Fatalf("money(%q, %q) error = %v, wantErr %v", tt.amount, tt.currency, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("money(%q, %q) = %q, want %q", tt.amount, tt.currency, got, tt.want)
			}
		})
	}
}

func TestDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		locale, in, want string
		wantErr          bool
	}{
		{"en-US", "2026-03-05", "Mar 5, 2026", false},
		{"en-GB", "2026-12-25", "Dec 25, 2026", false},
		{"zh-CN", "2026-03-05", "2026年3月5日", false},
		{"zh-TW", "2026-11-30", "2026年11月30日", false},
		{"en-US", "2026-02-30", "", true},
		{"en-US", "05/03/2026", "", true},
		{"zh-CN", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.locale+"/"+tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := newFormatter(tt.locale).date(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("date(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("date(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestDays(t *testing.T) {
	t.Parallel()
	tests := []struct {
		locale string
		n      int
		want   string
	}{
		{"en-US", 1, "1 day"},
		{"en-US", 3, "3 days"},
		{"en-US", 0, "0 days"},
		{"en-US", -1, "-1 day"},
		{"zh-CN", 1, "1天"},
		{"zh-CN", 3, "3天"},
	}
	for _, tt := range tests {
		if got := newFormatter(tt.locale).days(tt.n); got != tt.want {
			t.Errorf("%s days(%d) = %q, want %q", tt.locale, tt.n, got, tt.want)
		}
	}
}
