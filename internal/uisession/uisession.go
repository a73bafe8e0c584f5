// Package uisession signs people in to the report pages with an API key. A sign-in checks the
// key and opens a session: a random token for the browser's cookie, of which the store keeps
// only the SHA-256 hash, so the key itself never travels again and any replica can serve any
// session. A session ends at sign-out, at expiry, or when its key is revoked.
package uisession

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/uss/uss/internal/apikey"
	"github.com/uss/uss/internal/uss"
)

// Lifetime is how long a session lasts from sign-in.
const Lifetime = 8 * time.Hour

// ErrNoSession: the token names no live session (unknown, expired, signed out, or its key
// was revoked).
var ErrNoSession = errors.New("no session: sign in")

// Account is who a session is for.
type Account struct {
	ID   uss.AccountID
	Name string
}

// Store keeps sessions by the hash of their token.
type Store interface {
	CreateUISession(ctx context.Context, tokenHash []byte, keyID string, account uss.AccountID, expires time.Time) error
	// UISession returns the account of a session that has not expired and whose key is not
	// revoked, or uss.ErrNotFound.
	UISession(ctx context.Context, tokenHash []byte) (Account, error)
	DeleteUISession(ctx context.Context, tokenHash []byte) error
	DeleteExpiredUISessions(ctx context.Context) error
}

// Keys resolves API keys (apikey.Resolver).
type Keys interface {
	Resolve(ctx context.Context, key string) (uss.AccountID, error)
}

// Service opens, reads and closes sessions.
type Service struct {
	store Store
	keys  Keys
	now   func() time.Time
}

// NewService returns a Service over store, checking keys with keys.
func NewService(store Store, keys Keys) *Service {
	return &Service{store: store, keys: keys, now: time.Now}
}

// SignIn checks the API key and opens a session for its account. It returns the token for
// the cookie and when the session expires; apikey.ErrUnauthenticated for a bad key.
func (s *Service) SignIn(ctx context.Context, key string) (token string, expires time.Time, err error) {
	account, err := s.keys.Resolve(ctx, key)
	if err != nil {
		return "", time.Time{}, err
	}
	keyID, _ := apikey.ID(key) // well-formed: it resolved
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", time.Time{}, err
	}
	token = base64.RawURLEncoding.EncodeToString(raw[:])
	expires = s.now().Add(Lifetime)
	if err := s.store.DeleteExpiredUISessions(ctx); err != nil {
		return "", time.Time{}, fmt.Errorf("delete expired sessions: %w", err)
	}
	if err := s.store.CreateUISession(ctx, hash(token), keyID, account, expires); err != nil {
		return "", time.Time{}, fmt.Errorf("open session: %w", err)
	}
	return token, expires, nil
}

// Account returns the account of the session with that token, or ErrNoSession.
func (s *Service) Account(ctx context.Context, token string) (Account, error) {
	if token == "" {
		return Account{}, ErrNoSession
	}
	a, err := s.store.UISession(ctx, hash(token))
	if errors.Is(err, uss.ErrNotFound) {
		return Account{}, ErrNoSession
	}
	return a, err
}

// SignOut ends the session with that token; an unknown token is not an error.
func (s *Service) SignOut(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	return s.store.DeleteUISession(ctx, hash(token))
}

func hash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
