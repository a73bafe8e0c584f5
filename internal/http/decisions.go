package httpapi

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/uss/uss/internal/decision"
	"github.com/uss/uss/internal/uss"
)

type decideFunc func(context.Context, uss.AccountID, decision.Request) (decision.Decision, error)

type decisionRequest struct {
	CampaignKey                 string         `json:"campaignKey"`
	UserID                      string         `json:"userId"`
	CustomVariables             map[string]any `json:"customVariables"`
	VariationTargetingVariables map[string]any `json:"variationTargetingVariables"`
	EnforceTargeting            bool           `json:"enforceTargeting"`
	DryRun                      bool           `json:"dryRun"`
	// Sticky defaults to true; false is Statsig's "no persisted values".
	Sticky *bool `json:"sticky"`
}

type decisionResponse struct {
	CampaignKey   string              `json:"campaignKey"`
	UserID        string              `json:"userId"`
	VariationName *string             `json:"variationName"`
	Source        uss.Source          `json:"source"`
	ReasonCode    decision.ReasonCode `json:"reasonCode"`
	Reason        string              `json:"reason"`
}

// decidedFunc counts a decision by endpoint ("activate", "variation", "track").
type decidedFunc func(endpoint string, d decision.Decision)

type decisionHandlers struct {
	svc     *decision.Service
	decided decidedFunc
}

func (h decisionHandlers) activate(c echo.Context) error {
	return h.handle(c, "activate", h.svc.Activate)
}

func (h decisionHandlers) variation(c echo.Context) error {
	return h.handle(c, "variation", h.svc.Variation)
}

func (h decisionHandlers) handle(c echo.Context, endpoint string, decide decideFunc) error {
	var body decisionRequest
	if err := decodeBodyNumbers(c, &body); err != nil {
		return err
	}
	req := decision.Request{
		CampaignKey: body.CampaignKey, UserID: body.UserID,
		CustomVariables: body.CustomVariables, VariationTargetingVariables: body.VariationTargetingVariables,
		EnforceTargeting: body.EnforceTargeting, DryRun: body.DryRun,
		NotSticky: body.Sticky != nil && !*body.Sticky,
	}
	d, err := decide(c.Request().Context(), account(c), req)
	if err != nil {
		return err
	}
	h.decided(endpoint, d)
	resp := decisionResponse{CampaignKey: body.CampaignKey, UserID: body.UserID, Source: d.Source,
		ReasonCode: d.ReasonCode, Reason: d.Reason}
	if d.Variation != nil {
		resp.VariationName = &d.Variation.Name
	}
	return c.JSON(http.StatusOK, resp)
}
