package tz_test

import (
	"testing"

	"github.com/forbear/forbear/internal/ground/tz"
)

func TestLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		wantErr bool
	}{
		{"Asia/Shanghai", false},
		{"America/New_York", false},
		{"UTC", false},
		{"Mars/Olympus", true},
	}
	for _, tt := range tests {
		for range 2 { // the second call is served by the cache, same answer
			loc, err := tz.Load(tt.name)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Load(%q) err = %v, wantErr %v", tt.name, err, tt.wantErr)
			}
			if err == nil && loc.String() != tt.name {
				t.Fatalf("Load(%q) = %s", tt.name, loc)
			}
		}
	}
}
