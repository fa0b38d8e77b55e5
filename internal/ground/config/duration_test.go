package config_test

import (
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: "-3d", want: -3 * day},
		{in: "1d12h", want: 36 * time.Hour},
		{in: "36h", want: 36 * time.Hour},
		{in: "1s", want: time.Second},
		{in: "1.5d", want: 36 * time.Hour},
		{in: ".5d", want: 12 * time.Hour},
		{in: "+2d", want: 2 * day},
		{in: "-1d12h", want: -36 * time.Hour},
		{in: "29d", want: 29 * day},
		{in: "0", want: 0},
		{in: "  7d  ", want: 7 * day},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "", wantErr: true},
		{in: "   ", wantErr: true},
		{in: "-", wantErr: true},
		{in: "+", wantErr: true},
		{in: "d", wantErr: true},
		{in: "3", wantErr: true},
		{in: "3x", wantErr: true},
		{in: "1dd", wantErr: true},
		{in: "1h2d", wantErr: true},
		{in: "3d-1h", wantErr: true},
		{in: "--3d", wantErr: true},
		{in: "+-1h", wantErr: true},
		{in: "abc", wantErr: true},
		{in: "NaNd", wantErr: true},
		{in: "Infd", wantErr: true},
		{in: "1e3d", wantErr: true},
		{in: "1_0d", wantErr: true},
		{in: "1000000d", wantErr: true},
		{in: "106751d24h", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := config.ParseDuration(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseDuration(%q) = %v, %v; wantErr %v", tt.in, got, err, tt.wantErr)
			}
			if !tt.wantErr && got != tt.want {
				t.Errorf("ParseDuration(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestDurationText(t *testing.T) {
	t.Parallel()
	var d config.Duration
	if err := d.UnmarshalText([]byte("1d12h")); err != nil {
		t.Fatal(err)
	}
	if d.D() != 36*time.Hour {
		t.Errorf("D() = %v, want 36h", d.D())
	}
	b, err := d.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	var back config.Duration
	if err := back.UnmarshalText(b); err != nil || back != d {
		t.Errorf("round trip of %q = %v, %v; want %v", b, back.D(), err, d.D())
	}
	if err := d.UnmarshalText([]byte("soon")); err == nil {
		t.Error("UnmarshalText(soon): want an error")
	}
}
