package main

import (
	"math/rand/v2"
	"strconv"
	"sync/atomic"
)

// requestFunc lays out, in c, worker's seq-th call. Requests are built by appending bytes
// to the call's buffers so the load generator spends its CPU on little but the socket.
type requestFunc func(c *call, rng *rand.Rand, worker, seq int)

// endpoint is where and as whom requests go.
type endpoint struct {
	addr string // 127.0.0.1:port
	key  string // API key
}

// post starts a JSON POST to path; the caller appends the body to c.body.
func (c *call) post(path string) {
	c.method, c.uri, c.body = "POST", append(c.uri[:0], path...), c.body[:0]
}

// get starts a GET; the caller appends the path and query to c.uri.
func (c *call) get() {
	c.method, c.uri, c.body = "GET", c.uri[:0], c.body[:0]
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
func livezRequests() requestFunc {
	return func(c *call, _ *rand.Rand, _, _ int) {
		c.get()
		c.uri = append(c.uri, "/livez"...)
	}
}

// getRequests reads one random loaded assignment: GET /v1/storage.
func getRequests(users int) requestFunc {
	return func(c *call, rng *rand.Rand, _, _ int) {
		c.get()
		c.uri = append(c.uri, "/v1/storage?userId="...)
		c.uri = appendUserID(c.uri, rng.IntN(users))
		c.uri = append(c.uri, "&campaignKey="...)
		c.uri = appendCampaignKey(c.uri, rng.IntN(campaignsPerUser))
	}
}

var variations = [2]string{"Control", "Variation-1"}

// setRequests writes one random loaded assignment with a random one of two variations:
// POST /v1/storage, an update of an existing row as pgbench's upsert does.
func setRequests(users int) requestFunc {
	return func(c *call, rng *rand.Rand, _, _ int) {
		c.post("/v1/storage")
		c.body = appendRecord(c.body, rng.IntN(users), rng.IntN(campaignsPerUser), variations[rng.IntN(2)])
	}
}

// appendRecord appends the storage record of user u in campaign c.
func appendRecord(b []byte, u, c int, variation string) []byte {
	b = append(b, `{"userId":"`...)
	b = appendUserID(b, u)
	b = append(b, `","campaignKey":"`...)
	b = appendCampaignKey(b, c)
	b = append(b, `","variationName":"`...)
	b = append(b, variation...)
	return append(b, `"}`...)
}

// batchGetRequests reads a random user's 10 campaigns: POST /v1/storage/batch-get.
func batchGetRequests(users int) requestFunc {
	return func(c *call, rng *rand.Rand, _, _ int) {
		c.post("/v1/storage/batch-get")
		b := append(c.body, `{"userId":"`...)
		b = appendUserID(b, rng.IntN(users))
		b = append(b, `","campaignKeys":[`...)
		for k := range campaignsPerUser {
			if k > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = appendCampaignKey(b, k)
			b = append(b, '"')
		}
		c.body = append(b, "]}"...)
	}
}

// activateRequests decides a user never seen before: POST /v1/activate, which buckets and
// stores a new assignment. Ids are tag and a counter shared by every call of the returned
// function, so a warm-up and the measured run that follows it never repeat a user.
func activateRequests(tag string) requestFunc {
	var n atomic.Int64
	return func(c *call, _ *rand.Rand, _, _ int) {
		c.post("/v1/activate")
		b := append(c.body, `{"campaignKey":"`+activateCampaign+`","userId":"new-`...)
		b = append(b, tag...)
		b = append(b, '-')
		b = strconv.AppendInt(b, n.Add(1), 10)
		c.body = append(b, `"}`...)
	}
}

// returningRequests decides a random one of users [0, users) who already have a stored
// assignment in activateCampaign: POST /v1/activate answers with the stored row.
func returningRequests(users int) requestFunc {
	return func(c *call, rng *rand.Rand, _, _ int) {
		c.post("/v1/activate")
		b := append(c.body, `{"campaignKey":"`+activateCampaign+`","userId":"`...)
		b = appendUserID(b, rng.IntN(users))
		c.body = append(b, `"}`...)
	}
}

// batchSetRequest stores users [from, to), each with campaignsPerUser assignments, in one
// POST /v1/storage/batch-set: the rows loadSQL would insert, through the server's own path.
func batchSetRequest(from, to int) *call {
	c := &call{}
	c.post("/v1/storage/batch-set")
	b := append(c.body, `{"records":[`...)
	for u := from; u < to; u++ {
		for k := range campaignsPerUser {
			if u > from || k > 0 {
				b = append(b, ',')
			}
			b = appendRecord(b, u, k, variations[(u+k)%2])
		}
	}
	c.body = append(b, "]}"...)
	return c
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
