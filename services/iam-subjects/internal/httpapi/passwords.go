package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/iamplane/iam/pkg/apicommon"
	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/problem"

	"github.com/iamplane/iam/services/iam-subjects/api"
	"github.com/iamplane/iam/services/iam-subjects/internal/signin"
)

// SetUserPassword sets or resets a user's password.
func (s *Server) SetUserPassword(ctx context.Context, req api.SetUserPasswordRequestObject) (api.SetUserPasswordResponseObject, error) {
	if err := s.signin.SetPassword(ctx, req.Tenant, req.UserId, req.Body.Password); err != nil {
		return nil, err
	}
	return api.SetUserPassword204Response{}, nil
}

// ChangeMyPassword changes the caller's own password.
func (s *Server) ChangeMyPassword(ctx context.Context, req api.ChangeMyPasswordRequestObject) (api.ChangeMyPasswordResponseObject, error) {
	err := s.signin.ChangeOwnPassword(ctx, req.Tenant, auth.FromContext(ctx), callerAddress(ctx), req.Body.CurrentPassword, req.Body.NewPassword)
	var throttled *signin.Throttled
	if errors.As(err, &throttled) {
		wait, detail := throttled.RetryAfter(), throttled.Error()
		return api.ChangeMyPassword429ApplicationProblemPlusJSONResponse{TooManyAttemptsApplicationProblemPlusJSONResponse: api.TooManyAttemptsApplicationProblemPlusJSONResponse{
			Headers: api.TooManyAttemptsResponseHeaders{RetryAfter: &wait},
			Body: apicommon.Problem{Type: problem.TypeBase + "too-many-attempts", Title: http.StatusText(http.StatusTooManyRequests),
				Status: http.StatusTooManyRequests, Detail: &detail},
		}}, nil
	}
	if err != nil {
		return nil, err
	}
	return api.ChangeMyPassword204Response{}, nil
}

type addressKey struct{}

// CallerAddress puts the caller's address (echo's RealIP: X-Forwarded-For only from the
// trusted proxies) into the request's context, for the operations that throttle by it.
func CallerAddress(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), addressKey{}, c.RealIP())))
		return next(c)
	}
}

func callerAddress(ctx context.Context) string {
	a, _ := ctx.Value(addressKey{}).(string)
	return a
}
