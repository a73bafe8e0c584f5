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
	q, err := query(c, "campaignKey")
	if err != nil {
		return err
	}
	r, err := h.svc.Campaign(c.Request().Context(), account(c), q["campaignKey"])
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}
