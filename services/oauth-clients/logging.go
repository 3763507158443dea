package oauthclients

import (
	"context"
	"log/slog"
	"strings"
)

// quietTokenLog demotes the access log of successful token-endpoint requests to debug.
// At thousands of tokens a second one JSON line each is most of the endpoint's cost and
// says nothing the iam_oauth_clients_requests_total metric does not; failures, and every
// other request, are logged as before, and failed client authentications get a warning
// of their own (without the presented secret).
type quietTokenLog struct{ slog.Handler }

func (h quietTokenLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelInfo && r.Message == "request" && successfulTokenRequest(r) {
		if !h.Handler.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		r.Level = slog.LevelDebug
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietTokenLog) WithAttrs(as []slog.Attr) slog.Handler {
	return quietTokenLog{h.Handler.WithAttrs(as)}
}
func (h quietTokenLog) WithGroup(name string) slog.Handler {
	return quietTokenLog{h.Handler.WithGroup(name)}
}

func successfulTokenRequest(r slog.Record) bool {
	path, ok := false, false
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "path":
			path = strings.HasSuffix(a.Value.String(), "/oauth2/token")
		case "status":
			ok = a.Value.Int64() == 200
		}
		return true
	})
	return path && ok
}
