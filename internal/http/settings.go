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
	// warned counts the warnings of an accepted upload.
	warned func(n int)
}

type settingsPutResponse struct {
	Version   int64 `json:"version"`
	Campaigns int   `json:"campaigns"`
	// Warnings lists what loads but may not behave as its author expects (a regex RE2 cannot
	// compile); empty when there is nothing to say.
	Warnings []string `json:"warnings"`
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
	warnings := snap.Settings.Warnings()
	h.warned(len(warnings))
	return c.JSON(http.StatusOK, settingsPutResponse{Version: snap.Version, Campaigns: len(snap.Settings.Campaigns),
		Warnings: append([]string{}, warnings...)})
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
