package bucketing

import "math/bits"

// VWO hashes with MurmurHash3 x86 32-bit and seed 1 in every SDK (Go
// murmur3.New32WithSeed(1), node murmurhash.v3(s, 1), python mmh3.hash(s, 1)).
const hashSeed = 1

const (
	c1 = 0xcc9e2d51
	c2 = 0x1b873593
)

// Hash is MurmurHash3 x86 32-bit with seed 1 over the bytes of s (UTF-8 for
// any string that came from JSON), as VWO computes it.
func Hash(s string) uint32 {
	return HashPair(s, "")
}

// HashPair returns Hash(prefix + id) without building that string, so that
// seeds such as "<campaignId>_<userId>" cost no allocation. The 4-byte
// blocks of the hash may straddle the two parts; they are assembled on the
// stack.
func HashPair(prefix, id string) uint32 {
	h := uint32(hashSeed)
	n := len(prefix) + len(id)

	i := 0
	for ; i+4 <= len(prefix); i += 4 {
		h = mixBlock(h, le32(prefix[i:]))
	}

	// Up to 3 bytes of prefix are left; complete the block from id.
	var tail [4]byte
	t := copy(tail[:], prefix[i:])
	j := 0
	if t > 0 {
		j = copy(tail[t:], id)
		t += j
		if t == 4 {
			h = mixBlock(h, uint32(tail[0])|uint32(tail[1])<<8|uint32(tail[2])<<16|uint32(tail[3])<<24)
			t = 0
		}
	}
	if t == 0 {
		for ; j+4 <= len(id); j += 4 {
			h = mixBlock(h, le32(id[j:]))
		}
		t = copy(tail[:], id[j:])
	}

	var k uint32
	switch t {
	case 3:
		k ^= uint32(tail[2]) << 16
		fallthrough
	case 2:
		k ^= uint32(tail[1]) << 8
		fallthrough
	case 1:
		k ^= uint32(tail[0])
		k *= c1
		k = bits.RotateLeft32(k, 15)
		k *= c2
		h ^= k
	}

	// The reference implementation folds in the length as a 32-bit value.
	h ^= uint32(n)
	return fmix(h)
}

// le32 reads a little-endian block; the compiler merges the byte loads.
func le32(s string) uint32 {
	_ = s[3]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

func mixBlock(h, k uint32) uint32 {
	k *= c1
	k = bits.RotateLeft32(k, 15)
	k *= c2
	h ^= k
	h = bits.RotateLeft32(h, 13)
	return h*5 + 0xe6546b64
}

func fmix(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}
