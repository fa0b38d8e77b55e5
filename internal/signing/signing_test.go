package signing_test

import (
	"errors"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/signing"
	"github.com/forbear/forbear/internal/testkit"
)

func TestSignVerify(t *testing.T) {
	t.Parallel()
	s := signing.New([]byte("secret"))
	sig := s.Sign("unsubscribe", "b1", "a@example.com")
	tests := []struct {
		name    string
		sig     string
		parts   []string
		wantErr bool
	}{
		{"same", sig, []string{"b1", "a@example.com"}, false},
		{"other address", sig, []string{"b1", "x@example.com"}, true},
		{"parts shifted", sig, []string{"b1a", "@example.com"}, true},
		{"tampered", sig + "x", []string{"b1", "a@example.com"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Verify(tt.sig, "unsubscribe", tt.parts...)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Verify err = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
	if err := signing.New([]byte("other")).Verify(sig, "unsubscribe", "b1", "a@example.com"); !errors.Is(err, signing.ErrBadSignature) {
		t.Fatalf("a different secret verified: %v", err)
	}
}

func TestBorrowerToken(t *testing.T) {
	t.Parallel()
	s := signing.New([]byte("secret"))
	tok := s.BorrowerToken("b-42/x")
	got, err := s.BorrowerFromToken(tok)
	if err != nil || got != "b-42/x" {
		t.Fatalf("BorrowerFromToken = %q, %v", got, err)
	}
	for _, bad := range []string{"", "brw_", "brw_YjE", tok[:len(tok)-2], "t-backend"} {
		if _, err := s.BorrowerFromToken(bad); err == nil {
			t.Errorf("token %q accepted", bad)
		}
	}
}

func TestLoadSharesOneSecret(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	ctx := testkit.Context(t, time.Minute)
	kv, err := n.JS.KeyValue(ctx, store.SecretsBucket)
	if err != nil {
		t.Fatal(err)
	}
	a, err := signing.Load(ctx, kv)
	if err != nil {
		t.Fatal(err)
	}
	b, err := signing.Load(ctx, kv)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Verify(a.Sign("p", "x"), "p", "x"); err != nil {
		t.Fatalf("two loads disagree on the secret: %v", err)
	}
}
