package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/iamplane/iam/pkg/auth"

	"github.com/iamplane/iam/services/oauth-clients/api"
	"github.com/iamplane/iam/services/oauth-clients/internal/users"
)

func userInfoOut(c users.Claims) api.UserInfo {
	return api.UserInfo{Sub: c.Subject, Name: c.Name, GivenName: c.GivenName, FamilyName: c.FamilyName,
		PreferredUsername: c.PreferredUsername, Locale: c.Locale, Email: c.Email, EmailVerified: c.EmailVerified,
		PhoneNumber: c.PhoneNumber}
}

// GetUserInfo is the OpenID Connect UserInfo endpoint.
func (s *Server) GetUserInfo(ctx context.Context, _ api.GetUserInfoRequestObject) (api.GetUserInfoResponseObject, error) {
	c, err := s.profiles.UserInfo(ctx, auth.FromContext(ctx))
	if err != nil {
		return nil, err
	}
	return api.GetUserInfo200JSONResponse(userInfoOut(c)), nil
}

// PostUserInfo is the UserInfo endpoint by POST.
func (s *Server) PostUserInfo(ctx context.Context, _ api.PostUserInfoRequestObject) (api.PostUserInfoResponseObject, error) {
	c, err := s.profiles.UserInfo(ctx, auth.FromContext(ctx))
	if err != nil {
		return nil, err
	}
	return api.PostUserInfo200JSONResponse(userInfoOut(c)), nil
}

// BearerChallenge adds RFC 6750 §3's WWW-Authenticate header to the UserInfo endpoint's
// 401 and 403 answers (OIDC Core §5.3.3), which relying parties read: invalid_token for
// a missing or bad token, insufficient_scope for one without openid. It runs before
// routing (echo's Pre), since the token check answers before any route middleware.
func BearerChallenge(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !strings.HasSuffix(c.Request().URL.Path, "/oauth2/userinfo") {
			return next(c)
		}
		res := c.Response()
		res.Before(func() {
			switch res.Status {
			case http.StatusUnauthorized:
				if _, ok := auth.BearerToken(c.Request()); !ok {
					res.Header().Set("WWW-Authenticate", `Bearer realm="userinfo"`)
				} else {
					res.Header().Set("WWW-Authenticate", `Bearer realm="userinfo", error="invalid_token"`)
				}
			case http.StatusForbidden:
				res.Header().Set("WWW-Authenticate", `Bearer realm="userinfo", error="insufficient_scope", scope="openid"`)
			}
		})
		return next(c)
	}
}
