package campaign

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"
)

// VWO's user UUID (docs/decisions.md, Whitelisting) is a chain of name-based (SHA-1,
// version 5) UUIDs: the URL namespace, then "https://vwo.com", then the
// account id, then the user id; printed as upper-case hex without dashes.
// "user" whitelisting lists hold these UUIDs when isUserListEnabled.
var urlNamespace = [16]byte{
	0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1,
	0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8,
}

func uuidV5(namespace [16]byte, name string) [16]byte {
	h := sha1.New()
	h.Write(namespace[:])
	h.Write([]byte(name))
	var sum [sha1.Size]byte
	h.Sum(sum[:0])
	var u [16]byte
	copy(u[:], sum[:16])
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return u
}

// accountNamespace is the part of the chain that depends only on the
// account, computed once per settings file.
func accountNamespace(accountID string) [16]byte {
	return uuidV5(uuidV5(urlNamespace, "https://vwo.com"), accountID)
}

func userUUID(namespace [16]byte, userID string) string {
	u := uuidV5(namespace, userID)
	return strings.ToUpper(hex.EncodeToString(u[:]))
}

// UserUUID is VWO's UUID for a user of an account, e.g.
// UserUUID("123456", "user-1") == "D8E56BFF89A75539B46C1FECD3C97D7C".
// VWO sends it as the visitor id (u) of impressions.
func UserUUID(accountID, userID string) string {
	return userUUID(accountNamespace(accountID), userID)
}
