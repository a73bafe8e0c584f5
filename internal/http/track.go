package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/uss/uss/internal/goals"
)

type trackRequest struct {
	// CampaignKey is a string, a list of strings, or null/absent for every running campaign
	// that has the goal.
	CampaignKey    json.RawMessage `json:"campaignKey"`
	UserID         string          `json:"userId"`
	GoalIdentifier string          `json:"goalIdentifier"`
	// RevenueValue is a number or a numeric string.
	RevenueValue                json.RawMessage `json:"revenueValue"`
	CustomVariables             map[string]any  `json:"customVariables"`
	VariationTargetingVariables map[string]any  `json:"variationTargetingVariables"`
	GoalTypeToTrack             string          `json:"goalTypeToTrack"`
	ShouldTrackReturningUser    bool            `json:"shouldTrackReturningUser"`
}

type trackResult struct {
	CampaignKey string           `json:"campaignKey"`
	Tracked     bool             `json:"tracked"`
	ReasonCode  goals.ReasonCode `json:"reasonCode"`
	Reason      string           `json:"reason"`
}

type trackResponse struct {
	Results []trackResult `json:"results"`
}

type trackHandlers struct {
	svc     *goals.Service
	decided decidedFunc
}

func (h trackHandlers) track(c echo.Context) error {
	var body trackRequest
	if err := decodeBodyNumbers(c, &body); err != nil {
		return err
	}
	keys, err := campaignKeys(body.CampaignKey)
	if err != nil {
		return err
	}
	revenue, err := revenueText(body.RevenueValue)
	if err != nil {
		return err
	}
	results, err := h.svc.Track(c.Request().Context(), account(c), goals.Request{
		CampaignKeys: keys, UserID: body.UserID, GoalIdentifier: body.GoalIdentifier, RevenueValue: revenue,
		CustomVariables: body.CustomVariables, VariationTargetingVariables: body.VariationTargetingVariables,
		GoalTypeToTrack: body.GoalTypeToTrack, ShouldTrackReturningUser: body.ShouldTrackReturningUser,
	})
	if err != nil {
		return err
	}
	resp := trackResponse{Results: make([]trackResult, len(results))}
	for i, r := range results {
		if r.Decision != nil {
			h.decided("track", *r.Decision)
		}
		resp.Results[i] = trackResult{CampaignKey: r.CampaignKey, Tracked: r.Tracked, ReasonCode: r.ReasonCode, Reason: r.Reason}
	}
	return c.JSON(http.StatusOK, resp)
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || bytes.Equal(raw, []byte("null"))
}

func campaignKeys(raw json.RawMessage) ([]string, error) {
	if isNull(raw) {
		return nil, nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil || many == nil {
		return nil, invalid("field \"campaignKey\" must be a string, a list of strings, or null")
	}
	return many, nil
}

func revenueText(raw json.RawMessage) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", invalid("field \"revenueValue\" must be a number or a numeric string")
		}
		if s == "" {
			return "", invalid("field \"revenueValue\" must not be an empty string")
		}
		return s, nil
	}
	if raw[0] == '-' || ('0' <= raw[0] && raw[0] <= '9') {
		return string(raw), nil // a JSON number, exactly as written
	}
	return "", invalid("field \"revenueValue\" must be a number or a numeric string")
}
