package phone_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/forbear/forbear/internal/ground/phone"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		input   string
		region  string
		want    string
		wantErr error
	}{
		// One Chinese mobile number, typed every way support staff do.
		{input: "+8613800000001", region: "CN", want: "+8613800000001"},
		{input: "13800000001", region: "CN", want: "+8613800000001"},
		{input: "138 0000 0001", region: "CN", want: "+8613800000001"},
		{input: "138-0000-0001", region: "CN", want: "+8613800000001"},
		{input: " +86 138 0000 0001 ", region: "CN", want: "+8613800000001"},
		{input: "0086 138 0000 0001", region: "CN", want: "+8613800000001"},
		{input: "(+86) 138.0000.0001", region: "CN", want: "+8613800000001"},
		{input: "0086-13800000001", region: "US", want: "+8613800000001"},
		// The default region decides numbers without a country code, with
		// their national trunk prefix.
		{input: "(555) 010-0001", region: "US", want: "+15550100001"},
		{input: "555 010 0001", region: "us", want: "+15550100001"},
		{input: "+1 555 010 0001", region: "CN", want: "+15550100001"},
		{input: "020 7946 0000", region: "GB", want: "+442079460000"},
		{input: "0044 20 7946 0000", region: "CN", want: "+442079460000"},
		// Not phone numbers.
		{input: "", region: "CN", wantErr: phone.ErrNotAPhone},
		{input: "+", region: "CN", wantErr: phone.ErrNotAPhone},
		{input: "b-1", region: "CN", wantErr: phone.ErrNotAPhone},
		{input: "L-1001", region: "CN", wantErr: phone.ErrNotAPhone},
		{input: "li@example.com", region: "CN", wantErr: phone.ErrNotAPhone},
		{input: "12", region: "CN", wantErr: phone.ErrNotAPhone},
		{input: "+86 138 0000 0001 2345 6789", region: "CN", wantErr: phone.ErrNotAPhone},
		{input: "138+0000", region: "CN", wantErr: phone.ErrNotAPhone},
		{input: strings.Repeat("1", phone.MaxInput+1), region: "CN", wantErr: phone.ErrNotAPhone},
		// A region libphonenumber does not know.
		{input: "13800000001", region: "XX", wantErr: phone.ErrRegion},
		{input: "13800000001", region: "", wantErr: phone.ErrRegion},
	}
	for _, tt := range tests {
		got, err := phone.Normalize(tt.input, tt.region)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Normalize(%q, %q) = %q, %v; want error %v", tt.input, tt.region, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Normalize(%q, %q) = %q, %v; want %q", tt.input, tt.region, got, err, tt.want)
		}
	}
}

func TestValidRegion(t *testing.T) {
	t.Parallel()
	for region, want := range map[string]bool{"CN": true, "US": true, "GB": true, "cn": false, "XX": false, "": false, "CHN": false} {
		if got := phone.ValidRegion(region); got != want {
			t.Errorf("ValidRegion(%q) = %v, want %v", region, got, want)
		}
	}
}
