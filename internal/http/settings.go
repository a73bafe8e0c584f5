package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/uss/uss/internal/settings"
)

type settingsHandlers struct {
	registry *settings.Registry
}

type settingsPutResponse struct {
	Version   int64 `json:"version"`
	Campaigns int   `json:"campaigns"`
}

type settingsGetResponse struct {
	Version   int64           `json:"version"`
	CreatedAt time.Time       `json:"createdAt"`
	Settings  json.RawMessage `json:"settings"`
}

func (h settingsHandlers) put(c echo.Context) error {
	if _, err := query(c); err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	snap, err := h.registry.Put(c.Request().Context(), account(c), body)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, settingsPutResponse{Version: snap.Version, Campaigns: len(snap.Settings.Campaigns)})
}

func (h settingsHandlers) get(c echo.Context) error {
	if _, err := query(c); err != nil {
		return err
	}
	st, err := h.registry.Get(c.Request().Context(), account(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, settingsGetResponse{Version: st.Version, CreatedAt: st.CreatedAt, Settings: st.Body})
}
