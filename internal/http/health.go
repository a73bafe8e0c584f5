package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// readyTimeout bounds a readiness probe, which must answer even when the database hangs.
const readyTimeout = 2 * time.Second

func livez(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz is 200 when the database answers and is migrated, 503 otherwise (never 500: a load
// balancer only needs to know to send traffic elsewhere). The probe is unauthenticated, so
// ready's error must be fit to show (no addresses or driver messages).
func readyz(ready func(context.Context) error) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), readyTimeout)
		defer cancel()
		if err := ready(ctx); err != nil {
			return &apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable, Message: "not ready: " + err.Error()}
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
	}
}

// started answers 503 until the server has reached its database and applied its migrations:
// before that a request would meet missing tables.
func started(err func() error) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if err == nil {
			return next
		}
		return func(c echo.Context) error {
			if e := err(); e != nil {
				return &apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable,
					Message: "the server is " + e.Error() + "; retry later"}
			}
			return next(c)
		}
	}
}
