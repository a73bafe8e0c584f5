package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/uss/uss/internal/identity"
)

type identityHandlers struct {
	svc *identity.Service
}

func (h identityHandlers) merge(c echo.Context) error {
	var body struct {
		FromUserID   string `json:"fromUserId"`
		ToUserID     string `json:"toUserId"`
		DeleteSource bool   `json:"deleteSource"`
	}
	if err := decodeBody(c, &body); err != nil {
		return err
	}
	merged, err := h.svc.Merge(c.Request().Context(), account(c),
		identity.Merge{From: body.FromUserID, To: body.ToUserID, DeleteSource: body.DeleteSource})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, merged)
}
