package uss

import "context"

type requestIDKey struct{}

// WithRequestID carries the id of the API request a change is made for, so that the change's
// history event can name it.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID is the request id ctx carries, "" when none (a command-line import, a test).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
