package httpapi

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/uss/uss/internal/growthbook"
	"github.com/uss/uss/internal/optimizely"
	"github.com/uss/uss/internal/uss"
	"github.com/uss/uss/internal/vwofme"
)

// The routes of the other SDKs' sticky storage, each in its SDK's own wire shape:
// VWO FME's storage records, GrowthBook's sticky-bucket documents, and Optimizely's user
// profiles as Optimizely Agent's REST user profile service sends and expects them.

// vendorCounts counts one vendor's lookups (hit or miss) and saves.
type vendorCounts struct {
	lookup func(hit bool)
	saved  func()
}

// found counts a lookup by its error, and answers a miss with a 404 that says what was
// missing.
func (v vendorCounts) found(err error, missing string) error {
	if errors.Is(err, uss.ErrNotFound) {
		v.lookup(false)
		return &apiError{Status: http.StatusNotFound, Code: codeNotFound, Message: missing}
	}
	if err != nil {
		return err
	}
	v.lookup(true)
	return nil
}

type vwoFMEHandlers struct {
	svc    *vwofme.Service
	counts vendorCounts
}

func (h vwoFMEHandlers) get(c echo.Context) error {
	q, err := query(c, "featureKey", "userId")
	if err != nil {
		return err
	}
	record, err := h.svc.Get(c.Request().Context(), account(c), vwofme.Key{UserID: q["userId"], FeatureKey: q["featureKey"]})
	if err := h.counts.found(err, "no record for this featureKey and userId"); err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, record)
}

func (h vwoFMEHandlers) save(c echo.Context) error {
	var fields map[string]json.RawMessage
	if err := decodeBody(c, &fields); err != nil {
		return err
	}
	r, err := vwofme.NewRecord(fields)
	if err != nil {
		return err
	}
	stored, err := h.svc.Save(c.Request().Context(), account(c), r)
	if err != nil {
		return err
	}
	h.counts.saved()
	return c.JSONBlob(http.StatusOK, stored)
}

// stickyBucketDoc is GrowthBook's StickyBucketAssignmentDoc on the wire.
type stickyBucketDoc struct {
	AttributeName  string            `json:"attributeName"`
	AttributeValue string            `json:"attributeValue"`
	Assignments    map[string]string `json:"assignments"`
}

func toStickyBucketDoc(d growthbook.Document) stickyBucketDoc {
	return stickyBucketDoc{AttributeName: d.Name, AttributeValue: d.Value, Assignments: d.Assignments}
}

type growthBookHandlers struct {
	svc    *growthbook.Service
	counts vendorCounts
}

func (h growthBookHandlers) get(c echo.Context) error {
	q, err := query(c, "attributeName", "attributeValue")
	if err != nil {
		return err
	}
	doc, err := h.svc.Get(c.Request().Context(), account(c), growthbook.Attribute{Name: q["attributeName"], Value: q["attributeValue"]})
	if err := h.counts.found(err, "no sticky buckets for this attributeName and attributeValue"); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toStickyBucketDoc(doc))
}

func (h growthBookHandlers) batchGet(c echo.Context) error {
	var body struct {
		Attributes map[string]string `json:"attributes"`
	}
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	if body.Attributes == nil {
		return invalid("attributes is required (an object of attribute names to values)")
	}
	docs, err := h.svc.GetAll(c.Request().Context(), account(c), body.Attributes)
	if err != nil {
		return err
	}
	out := make(map[string]stickyBucketDoc, len(docs))
	for name, value := range body.Attributes {
		d, hit := docs[growthbook.Attribute{Name: name, Value: value}.Key()]
		h.counts.lookup(hit)
		if hit {
			out[d.Key()] = toStickyBucketDoc(d)
		}
	}
	return c.JSON(http.StatusOK, struct {
		Documents map[string]stickyBucketDoc `json:"documents"`
	}{out})
}

func (h growthBookHandlers) save(c echo.Context) error {
	var body stickyBucketDoc
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	doc, err := h.svc.Save(c.Request().Context(), account(c), growthbook.Document{
		Attribute:   growthbook.Attribute{Name: body.AttributeName, Value: body.AttributeValue},
		Assignments: body.Assignments,
	})
	if err != nil {
		return err
	}
	h.counts.saved()
	return c.JSON(http.StatusOK, toStickyBucketDoc(doc))
}

// agentProfile is a user profile as Optimizely Agent's REST user profile service sends and
// expects it. Field order is the wire order uss answers in.
type agentProfile struct {
	UserID              string                   `json:"user_id"`
	ExperimentBucketMap map[string]agentDecision `json:"experiment_bucket_map"`
}

type agentDecision struct {
	VariationID *string `json:"variation_id"`
}

func toAgentProfile(p optimizely.Profile) agentProfile {
	out := agentProfile{UserID: p.UserID, ExperimentBucketMap: make(map[string]agentDecision, len(p.Decisions))}
	for experiment, variation := range p.Decisions {
		out.ExperimentBucketMap[experiment] = agentDecision{VariationID: &variation}
	}
	return out
}

type optimizelyHandlers struct {
	svc    *optimizely.Service
	counts vendorCounts
}

func (h optimizelyHandlers) lookup(c echo.Context) error {
	var body struct {
		UserID string `json:"user_id"`
	}
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	p, err := h.svc.Lookup(c.Request().Context(), account(c), body.UserID)
	if err != nil {
		return err
	}
	h.counts.lookup(len(p.Decisions) > 0)
	return c.JSON(http.StatusOK, toAgentProfile(p))
}

func (h optimizelyHandlers) save(c echo.Context) error {
	var body agentProfile
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	p := optimizely.Profile{UserID: body.UserID}
	if body.ExperimentBucketMap != nil {
		p.Decisions = make(map[string]string, len(body.ExperimentBucketMap))
		for _, experiment := range slices.Sorted(maps.Keys(body.ExperimentBucketMap)) {
			v := body.ExperimentBucketMap[experiment].VariationID
			if v == nil {
				return invalid("experiment_bucket_map[%q].variation_id is required (a string)", experiment)
			}
			p.Decisions[experiment] = *v
		}
	}
	saved, err := h.svc.Save(c.Request().Context(), account(c), p)
	if err != nil {
		return err
	}
	h.counts.saved()
	return c.JSON(http.StatusOK, toAgentProfile(saved))
}
