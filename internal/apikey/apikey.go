// Package apikey issues API keys and resolves a presented key to its account. Keys are random,
// shown once, and stored only as SHA-256 hashes; the lookup is by the key's public id and the
// hash is compared in constant time.
package apikey

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uss/uss/internal/uss"
)

// A key reads "uss_<id>_<secret>": 16 hex characters of public id, then 43 characters of
// base64url secret (256 random bits).
const (
	prefix    = "uss_"
	idBytes   = 8
	idLen     = 2 * idBytes
	secretLen = 43
	keyLen    = len(prefix) + idLen + 1 + secretLen
)

// ErrUnauthenticated: the key is missing, malformed, unknown or revoked.
var ErrUnauthenticated = errors.New("invalid or missing API key")

// StoredKey is what the store keeps of a key.
type StoredKey struct {
	ID          string
	Account     uss.AccountID
	AccountName string
	Hash        []byte
	CreatedAt   time.Time
	RevokedAt   *time.Time
}

// Store keeps accounts and key hashes.
type Store interface {
	// EnsureAccount returns the account named name, creating it if needed.
	EnsureAccount(ctx context.Context, name string) (uss.AccountID, error)
	CreateKey(ctx context.Context, account uss.AccountID, id string, hash []byte) error
	// LookupKey returns the key with that id, or uss.ErrNotFound.
	LookupKey(ctx context.Context, id string) (StoredKey, error)
	// ListKeys lists the keys of the named account (all accounts when empty).
	ListKeys(ctx context.Context, accountName string) ([]StoredKey, error)
	// RevokeKey marks the key revoked, or returns uss.ErrNotFound.
	RevokeKey(ctx context.Context, id string) error
}

// Create issues a new key for the named account (created if missing) and returns it. The key
// itself is not kept anywhere: only its hash.
func Create(ctx context.Context, store Store, accountName string) (string, error) {
	if err := uss.ValidateIdentifier("account", accountName); err != nil {
		return "", err
	}
	account, err := store.EnsureAccount(ctx, accountName)
	if err != nil {
		return "", fmt.Errorf("create account: %w", err)
	}
	var id [idBytes]byte
	var secret [32]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", err
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return "", err
	}
	key := prefix + hex.EncodeToString(id[:]) + "_" + base64.RawURLEncoding.EncodeToString(secret[:])
	hash := sha256.Sum256([]byte(key))
	if err := store.CreateKey(ctx, account, hex.EncodeToString(id[:]), hash[:]); err != nil {
		return "", fmt.Errorf("store key: %w", err)
	}
	return key, nil
}

// ID returns the public id of a well-formed key.
func ID(key string) (string, bool) {
	if len(key) != keyLen || !strings.HasPrefix(key, prefix) || key[len(prefix)+idLen] != '_' {
		return "", false
	}
	id := key[len(prefix) : len(prefix)+idLen]
	for i := 0; i < len(id); i++ {
		if c := id[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", false
		}
	}
	return id, true
}

// verify looks the key up and checks its hash (digest) in constant time.
func verify(ctx context.Context, store Store, key string, digest [sha256.Size]byte) (uss.AccountID, error) {
	id, ok := ID(key)
	if !ok {
		return 0, ErrUnauthenticated
	}
	stored, err := store.LookupKey(ctx, id)
	if errors.Is(err, uss.ErrNotFound) {
		return 0, ErrUnauthenticated
	}
	if err != nil {
		return 0, fmt.Errorf("look up api key: %w", err)
	}
	if subtle.ConstantTimeCompare(digest[:], stored.Hash) != 1 || stored.RevokedAt != nil {
		return 0, ErrUnauthenticated
	}
	return stored.Account, nil
}
