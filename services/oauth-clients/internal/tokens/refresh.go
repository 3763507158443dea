package tokens

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/iamplane/iam/pkg/errs"

	"github.com/iamplane/iam/services/oauth-clients/internal/clients"
)

// refresh is the refresh_token grant (RFC 6749 §6) with rotation: every use answers a new
// refresh token and retires the presented one; presenting a retired one again revokes the
// whole family and the access tokens it issued (RFC 9700 §4.14). The family ends, too,
// when its person is deleted or locked or took the client's access away in consent. The
// scope may narrow, never widen, and is narrowed again to what the person is entitled to
// now and what the client may still ask. The family is read, judged and moved to the
// next generation only if no other use of it came in between.
func (i *Issuer) refresh(ctx context.Context, c *clients.Client, req TokenRequest) (*Token, error) {
	switch {
	case !slices.Contains(c.GrantTypes, "refresh_token"):
		return nil, &clients.OAuthError{Code: "unauthorized_client", Description: "the client may not use the refresh_token grant"}
	case req.RefreshToken == "":
		return nil, &clients.OAuthError{Code: "invalid_request", Description: "refresh_token is required"}
	case !ValidScope(req.Scope):
		return nil, &clients.OAuthError{Code: "invalid_scope", Description: "scope contains characters RFC 6749 §3.3 does not allow"}
	}
	presented, ok := ParseRefreshToken(req.RefreshToken)
	if !ok {
		return nil, invalidGrant("the refresh token is invalid, expired or revoked")
	}
	requested := strings.Fields(req.Scope)
	now := i.now()
	var tok *Token
	err := i.grants.Refresh(ctx, c.Tenant, presented, func(f *Family, h Holder) Decision {
		tok = nil
		current, reused := f.Presented(presented)
		switch {
		case reused && f.RevokedAt == nil:
			return Decision{Revoke: true, Refusal: invalidGrant("the refresh token was already used; its whole family is revoked")}
		case !current && !reused:
			return Decision{Refusal: invalidGrant("the refresh token is invalid, expired or revoked")}
		case f.RevokedAt != nil:
			return Decision{Refusal: invalidGrant("the refresh token has been revoked")}
		case !now.Before(f.Refresh.ExpiresAt):
			return Decision{Refusal: invalidGrant("the refresh token has expired")}
		case f.ClientID != c.ID:
			return Decision{Refusal: invalidGrant("the refresh token was issued to another client")}
		case h.Standing.Refusal() != "":
			return Decision{Revoke: true, Refusal: invalidGrant(h.Standing.Refusal())}
		case h.Access != nil && h.Access.Blocks(f.CreatedAt.Unix()):
			return Decision{Revoke: true, Refusal: invalidGrant("the user withdrew the client's access")}
		case f.LiveAccessTokens >= MaxLiveAccessTokens:
			return Decision{Refusal: invalidGrant(fmt.Sprintf("the family already has %d unexpired access tokens; refresh when the current one is about to expire", f.LiveAccessTokens))}
		}
		granted := strings.Fields(f.Scope)
		want := granted
		if len(requested) > 0 {
			for _, s := range requested {
				if !slices.Contains(granted, s) {
					return Decision{Refusal: &clients.OAuthError{Code: "invalid_scope", Description: "scope " + s + " was not granted; a refresh may only narrow the scope"}}
				}
			}
			want = requested
		}
		scope := Narrow(want, c.Scopes, h.Entitled)
		if len(scope) == 0 {
			return Decision{Refusal: &clients.OAuthError{Code: "invalid_scope", Description: "none of the scopes is granted any longer"}}
		}
		t2, iss, err := i.mint(ctx, c, personGrant{Subject: f.Subject, Scope: scope, AuthTime: f.AuthTime, AMR: f.AMR, SID: f.SID,
			FamilyID: f.ID, Generation: f.Refresh.Generation + 1, Offline: slices.Contains(granted, "offline_access") && slices.Contains(c.Scopes, "offline_access")}, now)
		if err != nil {
			return Decision{Refusal: serverError(err)}
		}
		tok = t2
		return Decision{Issue: iss}
	})
	if errs.Is(err, errs.NotFound) {
		return nil, invalidGrant("the refresh token is invalid, expired or revoked")
	}
	if err != nil {
		return nil, asOAuth(err)
	}
	return tok, nil
}
