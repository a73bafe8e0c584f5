package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/uss/uss/internal/reports"
)

type reportHandlers struct {
	svc *reports.Service
}

func (h reportHandlers) campaign(c echo.Context) error {
	q, err := query(c, "campaignKey", "control")
	if err != nil {
		return err
	}
	if control, ok := q["control"]; ok && control == "" {
		return invalid("query parameter \"control\" must not be empty (leave it out for the default control)")
	}
	r, err := h.svc.Campaign(c.Request().Context(), account(c), q["campaignKey"], q["control"])
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}
