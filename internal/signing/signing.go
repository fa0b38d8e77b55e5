// Package signing makes and checks the HMAC-signed links and tokens forbear
// hands to borrowers: the email unsubscribe link and the borrower's own
// inbox token. The secret lives in JetStream KV so that every instance
// shares it without configuration.
package signing

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/ground/store"
)

// Signer signs short messages with a shared secret.
type Signer struct {
	secret []byte
}

// ErrBadSignature is returned for a token or link that does not verify.
var ErrBadSignature = errors.New("signing: bad signature")

const secretKey = "signing-secret"

// Load returns the Signer whose secret is stored under a fixed key of kv,
// creating a random one the first time (the first instance wins the race;
// the others read its secret). The secret is stored as its raw bytes.
func Load(ctx context.Context, kv jetstream.KeyValue) (*Signer, error) {
	var fresh [32]byte
	if _, err := rand.Read(fresh[:]); err != nil {
		return nil, err
	}
	secrets := store.NewBucket[[]byte](nil, kv)
	// Revision 0: written only when no instance has a secret yet.
	if _, err := secrets.PutAt(ctx, secretKey, fresh[:], 0); err == nil {
		return &Signer{secret: fresh[:]}, nil
	} else if !store.IsWrongSequence(err) {
		return nil, fmt.Errorf("signing: store secret: %w", err)
	}
	secret, _, err := secrets.Get(ctx, secretKey)
	if err != nil {
		return nil, fmt.Errorf("signing: read secret: %w", err)
	}
	return &Signer{secret: secret}, nil
}

// New returns a Signer with a given secret (tests).
func New(secret []byte) *Signer { return &Signer{secret: secret} }

// Sign returns the signature of purpose and parts, URL-safe.
func (s *Signer) Sign(purpose string, parts ...string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(purpose))
	for _, p := range parts {
		m.Write([]byte{0})
		m.Write([]byte(p))
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Verify checks sig against purpose and parts in constant time.
func (s *Signer) Verify(sig, purpose string, parts ...string) error {
	if !hmac.Equal([]byte(sig), []byte(s.Sign(purpose, parts...))) {
		return ErrBadSignature
	}
	return nil
}

const borrowerPurpose = "borrower-token"

// BorrowerToken is a bearer token that lets a borrower (the lender's app on
// the borrower's behalf) read that borrower's own inbox and nothing else.
func (s *Signer) BorrowerToken(borrowerID string) string {
	return "brw_" + base64.RawURLEncoding.EncodeToString([]byte(borrowerID)) + "." + s.Sign(borrowerPurpose, borrowerID)
}

// BorrowerFromToken returns the borrower a token was made for.
func (s *Signer) BorrowerFromToken(tok string) (string, error) {
	rest, ok := strings.CutPrefix(tok, "brw_")
	if !ok {
		return "", ErrBadSignature
	}
	enc, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return "", ErrBadSignature
	}
	id, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return "", ErrBadSignature
	}
	if err := s.Verify(sig, borrowerPurpose, string(id)); err != nil {
		return "", err
	}
	return string(id), nil
}
