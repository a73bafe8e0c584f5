package httpapi

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/uss/uss/internal/history"
	"github.com/uss/uss/internal/uss"
)

type historyHandlers struct {
	svc *history.Service
}

func (h historyHandlers) list(c echo.Context) error {
	q, err := query(c, "userId", "campaignKey", "limit", "cursor")
	if err != nil {
		return err
	}
	limit := 0
	if v, ok := q["limit"]; ok {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 {
			return invalid("limit must be a whole number between 1 and %d", history.MaxLimit)
		}
	}
	if v, ok := q["cursor"]; ok && v == "" {
		return invalid("cursor must not be empty (leave it out for the first page)")
	}
	page, err := h.svc.List(c.Request().Context(), account(c),
		uss.AssignmentKey{UserID: q["userId"], CampaignKey: q["campaignKey"]}, q["cursor"], limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}
