package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/uss/uss/internal/uss"
)

// persistedHandlers are the HTTP shape of Statsig's user persistent storage: load, save and
// delete by storage key and config name.
type persistedHandlers struct {
	svc *uss.Service
}

type persistedValuesBody struct {
	Key    string                     `json:"key"`
	Values map[string]json.RawMessage `json:"values"`
}

type persistedValueBody struct {
	Key        string          `json:"key"`
	ConfigName string          `json:"configName"`
	Value      json.RawMessage `json:"value"`
}

func (h persistedHandlers) load(c echo.Context) error {
	q, err := query(c, "key")
	if err != nil {
		return err
	}
	values, err := h.svc.PersistedValues(c.Request().Context(), account(c), q["key"])
	if errors.Is(err, uss.ErrNotFound) {
		return &apiError{Status: http.StatusNotFound, Code: codeNotFound, Message: "no persisted values for this key"}
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, persistedValuesBody{Key: q["key"], Values: values})
}

func (h persistedHandlers) save(c echo.Context) error {
	q, err := query(c, "key", "configName")
	if err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	v := uss.PersistedValue{Key: q["key"], ConfigName: q["configName"], Value: body}
	if err := h.svc.SavePersistedValue(c.Request().Context(), account(c), v); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, persistedValueBody{Key: v.Key, ConfigName: v.ConfigName, Value: json.RawMessage(body)})
}

func (h persistedHandlers) delete(c echo.Context) error {
	q, err := query(c, "key", "configName")
	if err != nil {
		return err
	}
	erased, err := h.svc.DeletePersistedValue(c.Request().Context(), account(c), q["key"], q["configName"])
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, deletedBody{Deleted: erased})
}
