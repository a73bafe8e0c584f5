package httpapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/uss/uss/internal/uss"
)

// storageRecord is VWO's userStorageData on the wire.
type storageRecord struct {
	UserID         string `json:"userId"`
	CampaignKey    string `json:"campaignKey"`
	VariationName  string `json:"variationName"`
	GoalIdentifier string `json:"goalIdentifier"`
}

func toRecord(a uss.Assignment) storageRecord {
	return storageRecord{UserID: a.UserID, CampaignKey: a.CampaignKey, VariationName: a.VariationName,
		GoalIdentifier: a.GoalIdentifier()}
}

func toRecords(as []uss.Assignment) []storageRecord {
	out := make([]storageRecord, len(as))
	for i, a := range as {
		out[i] = toRecord(a)
	}
	return out
}

func (r storageRecord) assignment(field string) (uss.Assignment, error) {
	goals, err := uss.ParseGoals(field+"goalIdentifier", r.GoalIdentifier)
	if err != nil {
		return uss.Assignment{}, err
	}
	return uss.Assignment{UserID: r.UserID, CampaignKey: r.CampaignKey, VariationName: r.VariationName, Goals: goals}, nil
}

type recordsBody struct {
	Records []storageRecord `json:"records"`
}

// setBody is a set: a record, and whether a stored variation may be replaced.
type setBody struct {
	storageRecord
	// IfAbsent keeps a stored variation (the first writer wins); the answer is the stored row.
	IfAbsent bool `json:"ifAbsent"`
}

type batchSetBody struct {
	Records  []storageRecord `json:"records"`
	IfAbsent bool            `json:"ifAbsent"`
}

func setMode(ifAbsent bool) uss.SetMode {
	if ifAbsent {
		return uss.SetIfAbsent
	}
	return uss.SetUpsert
}

type deletedBody struct {
	Deleted uss.Erased `json:"deleted"`
}

type storageHandlers struct {
	svc     *uss.Service
	lookups func(hit bool)
}

func (h storageHandlers) get(c echo.Context) error {
	q, err := query(c, "userId", "campaignKey")
	if err != nil {
		return err
	}
	a, err := h.svc.Get(c.Request().Context(), account(c),
		uss.AssignmentKey{UserID: q["userId"], CampaignKey: q["campaignKey"]})
	switch {
	case err == nil:
		h.lookups(true)
	case errors.Is(err, uss.ErrNotFound):
		h.lookups(false)
		return &apiError{Status: http.StatusNotFound, Code: codeNotFound, Message: "no assignment for this userId and campaignKey"}
	default:
		return err
	}
	return c.JSON(http.StatusOK, toRecord(a))
}

func (h storageHandlers) set(c echo.Context) error {
	var body setBody
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	a, err := body.assignment("")
	if err != nil {
		return err
	}
	stored, err := h.svc.Set(c.Request().Context(), account(c), a, setMode(body.IfAbsent))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toRecord(stored))
}

func (h storageHandlers) batchGet(c echo.Context) error {
	var body struct {
		UserID       string   `json:"userId"`
		CampaignKeys []string `json:"campaignKeys"`
	}
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	as, err := h.svc.BatchGet(c.Request().Context(), account(c), body.UserID, body.CampaignKeys)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, recordsBody{Records: toRecords(as)})
}

func (h storageHandlers) batchSet(c echo.Context) error {
	var body batchSetBody
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	as := make([]uss.Assignment, len(body.Records))
	for i, r := range body.Records {
		a, err := r.assignment(fmt.Sprintf("records[%d].", i))
		if err != nil {
			return err
		}
		as[i] = a
	}
	stored, err := h.svc.BatchSet(c.Request().Context(), account(c), as, setMode(body.IfAbsent))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, recordsBody{Records: toRecords(stored)})
}

func (h storageHandlers) delete(c echo.Context) error {
	q, err := query(c, "userId", "campaignKey")
	if err != nil {
		return err
	}
	var erased uss.Erased
	if campaignKey, one := q["campaignKey"]; one {
		erased, err = h.svc.Delete(c.Request().Context(), account(c), uss.AssignmentKey{UserID: q["userId"], CampaignKey: campaignKey})
	} else {
		erased, err = h.svc.Erase(c.Request().Context(), account(c), q["userId"])
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, deletedBody{Deleted: erased})
}
