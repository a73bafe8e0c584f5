package main

import (
	"math/rand/v2"
	"strconv"
	"sync/atomic"
)

// requestFunc lays out, in buf, the raw HTTP request of worker's seq-th call. Requests are
// built by appending bytes so the load generator spends its CPU on little but the socket.
type requestFunc func(buf []byte, rng *rand.Rand, worker, seq int) []byte

// endpoint is where and as whom requests go.
type endpoint struct {
	addr string // 127.0.0.1:port
	key  string // API key
}

// appendHeaders ends the request line begun in buf and adds the headers every request has.
func (e endpoint) appendHeaders(buf []byte) []byte {
	buf = append(buf, " HTTP/1.1\r\nHost: "...)
	buf = append(buf, e.addr...)
	buf = append(buf, "\r\nAuthorization: Bearer "...)
	buf = append(buf, e.key...)
	return append(buf, "\r\n"...)
}

// appendPost lays out a POST whose JSON body is written by body.
func (e endpoint) appendPost(buf []byte, path string, body func([]byte) []byte) []byte {
	return e.appendWithBody(buf, "POST", path, body)
}

func (e endpoint) appendWithBody(buf []byte, method, path string, body func([]byte) []byte) []byte {
	buf = append(buf, method...)
	buf = append(buf, ' ')
	buf = append(buf, path...)
	buf = e.appendHeaders(buf)
	buf = append(buf, "Content-Type: application/json\r\nContent-Length: "...)
	// The body goes after a fixed-width length that is patched once the body is known.
	lenAt := len(buf)
	buf = append(buf, "0000000\r\n\r\n"...)
	start := len(buf)
	buf = body(buf)
	n := len(buf) - start
	if n > 9_999_999 {
		panic("uss-bench: request body over 9,999,999 bytes")
	}
	for i := lenAt + 6; i >= lenAt; i-- {
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return buf
}

// The loaded data: user n is "user-" and n in 8 digits, with campaigns "campaign-0" to
// "campaign-9". The same expressions build the rows in SQL (see database.go).
func appendUserID(buf []byte, n int) []byte {
	buf = append(buf, "user-"...)
	var digits [8]byte
	for i := len(digits) - 1; i >= 0; i-- {
		digits[i] = byte('0' + n%10)
		n /= 10
	}
	return append(buf, digits[:]...)
}

func userID(n int) string { return string(appendUserID(nil, n)) }

func appendCampaignKey(buf []byte, c int) []byte {
	return strconv.AppendInt(append(buf, "campaign-"...), int64(c), 10)
}

// livezRequests asks the liveness probe, which touches no database: the HTTP floor.
func livezRequests(e endpoint) requestFunc {
	return func(buf []byte, _ *rand.Rand, _, _ int) []byte {
		buf = append(buf, "GET /livez"...)
		buf = e.appendHeaders(buf)
		return append(buf, "\r\n"...)
	}
}

// getRequests reads one random loaded assignment: GET /v1/storage.
func getRequests(e endpoint, users int) requestFunc {
	return func(buf []byte, rng *rand.Rand, _, _ int) []byte {
		buf = append(buf, "GET /v1/storage?userId="...)
		buf = appendUserID(buf, rng.IntN(users))
		buf = append(buf, "&campaignKey="...)
		buf = appendCampaignKey(buf, rng.IntN(campaignsPerUser))
		buf = e.appendHeaders(buf)
		return append(buf, "\r\n"...)
	}
}

var variations = [2]string{"Control", "Variation-1"}

// setRequests writes one random loaded assignment with a random one of two variations:
// POST /v1/storage, an update of an existing row as pgbench's upsert does.
func setRequests(e endpoint, users int) requestFunc {
	return func(buf []byte, rng *rand.Rand, _, _ int) []byte {
		u, c, v := rng.IntN(users), rng.IntN(campaignsPerUser), rng.IntN(2)
		return e.appendPost(buf, "/v1/storage", func(b []byte) []byte {
			b = append(b, `{"userId":"`...)
			b = appendUserID(b, u)
			b = append(b, `","campaignKey":"`...)
			b = appendCampaignKey(b, c)
			b = append(b, `","variationName":"`...)
			b = append(b, variations[v]...)
			return append(b, `"}`...)
		})
	}
}

// batchGetRequests reads a random user's 10 campaigns: POST /v1/storage/batch-get.
func batchGetRequests(e endpoint, users int) requestFunc {
	return func(buf []byte, rng *rand.Rand, _, _ int) []byte {
		u := rng.IntN(users)
		return e.appendPost(buf, "/v1/storage/batch-get", func(b []byte) []byte {
			b = append(b, `{"userId":"`...)
			b = appendUserID(b, u)
			b = append(b, `","campaignKeys":[`...)
			for c := range campaignsPerUser {
				if c > 0 {
					b = append(b, ',')
				}
				b = append(b, '"')
				b = appendCampaignKey(b, c)
				b = append(b, '"')
			}
			return append(b, "]}"...)
		})
	}
}

// activateRequests decides a user never seen before: POST /v1/activate, which buckets and
// stores a new assignment. Ids are tag and a counter shared by every call of the returned
// function, so a warm-up and the measured run that follows it never repeat a user.
func activateRequests(e endpoint, tag string) requestFunc {
	var n atomic.Int64
	return func(buf []byte, _ *rand.Rand, _, _ int) []byte {
		id := n.Add(1)
		return e.appendPost(buf, "/v1/activate", func(b []byte) []byte {
			b = append(b, `{"campaignKey":"`+activateCampaign+`","userId":"new-`...)
			b = append(b, tag...)
			b = append(b, '-')
			b = strconv.AppendInt(b, id, 10)
			return append(b, `"}`...)
		})
	}
}

// returningRequests decides a random one of users [0, users) who already have a stored
// assignment in activateCampaign: POST /v1/activate answers with the stored row.
func returningRequests(e endpoint, users int) requestFunc {
	return func(buf []byte, rng *rand.Rand, _, _ int) []byte {
		u := rng.IntN(users)
		return e.appendPost(buf, "/v1/activate", func(b []byte) []byte {
			b = append(b, `{"campaignKey":"`+activateCampaign+`","userId":"`...)
			b = appendUserID(b, u)
			return append(b, `"}`...)
		})
	}
}

// batchSetRequest stores users [from, to), each with campaignsPerUser assignments, in one
// POST /v1/storage/batch-set: the rows loadSQL would insert, through the server's own path.
func batchSetRequest(e endpoint, from, to int) []byte {
	return e.appendPost(nil, "/v1/storage/batch-set", func(b []byte) []byte {
		b = append(b, `{"records":[`...)
		for u := from; u < to; u++ {
			for c := range campaignsPerUser {
				if u > from || c > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"userId":"`...)
				b = appendUserID(b, u)
				b = append(b, `","campaignKey":"`...)
				b = appendCampaignKey(b, c)
				b = append(b, `","variationName":"`...)
				b = append(b, variations[(u+c)%2]...)
				b = append(b, `"}`...)
			}
		}
		return append(b, "]}"...)
	})
}

// activateCampaign is the campaign of settingsFile: an A/B test with all traffic and two
// variations at 50% each, as in VWO's own test settings (AB_T_100_W_50_50).
const activateCampaign = "AB_T_100_W_50_50"

// settingsFile is the VWO settings file uploaded before the activate scenario: the campaign
// AB_T_100_W_50_50 of VWO's Go SDK test settings, with the fields VWO's schema requires.
const settingsFile = `{
  "sdkKey": "uss-bench",
  "accountId": 88888888,
  "version": 1,
  "campaigns": [
    {
      "id": 231,
      "key": "` + activateCampaign + `",
      "name": "uss-bench activate",
      "status": "RUNNING",
      "type": "VISUAL_AB",
      "percentTraffic": 100,
      "segments": {},
      "isForcedVariationEnabled": false,
      "isBucketingSeedEnabled": false,
      "goals": [
        {"id": 1, "identifier": "abcd", "type": "REVENUE_TRACKING"},
        {"id": 214, "identifier": "GOAL_2", "type": "CUSTOM_GOAL"}
      ],
      "variations": [
        {"id": 1, "name": "Control", "changes": {}, "weight": 50},
        {"id": 2, "name": "Variation-1", "changes": {}, "weight": 50}
      ]
    }
  ]
}`
