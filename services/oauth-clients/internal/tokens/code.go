package tokens

import (
	"context"
	"slices"
	"strings"

	"github.com/iamplane/iam/pkg/errs"

	"github.com/iamplane/iam/services/oauth-clients/internal/clients"
	"github.com/iamplane/iam/services/oauth-clients/internal/users"
)

// authorizationCode is the authorization_code grant (RFC 6749 §4.1.3, RFC 7636 §4.6): the
// code works once, for the client it was issued to, with the redirect URI of its request
// and the verifier of its challenge, within CodeTTL. A second use revokes what the first
// issued (RFC 6749 §4.1.2). One transaction: the code is locked, judged and used.
func (i *Issuer) authorizationCode(ctx context.Context, c *clients.Client, req TokenRequest) (*Token, error) {
	switch {
	case !slices.Contains(c.GrantTypes, "authorization_code"):
		return nil, &clients.OAuthError{Code: "unauthorized_client", Description: "the client may not use the authorization_code grant"}
	case req.Code == "":
		return nil, &clients.OAuthError{Code: "invalid_request", Description: "code is required"}
	case req.RedirectURI == "":
		return nil, &clients.OAuthError{Code: "invalid_request", Description: "redirect_uri is required: the one of the authorization request"}
	case req.CodeVerifier == "":
		return nil, &clients.OAuthError{Code: "invalid_request", Description: "code_verifier is required (PKCE)"}
	case !ValidVerifier(req.CodeVerifier):
		return nil, &clients.OAuthError{Code: "invalid_request", Description: "code_verifier must be 43 to 128 unreserved characters (RFC 7636 §4.1)"}
	}
	now := i.now()
	var tok *Token
	err := i.grants.Redeem(ctx, c.Tenant, HashOf(req.Code), func(code *Code, person users.Standing) Decision {
		tok = nil
		switch {
		case code.UsedAt != nil:
			return Decision{Revoke: true, Refusal: invalidGrant("the code was already used; the tokens issued for it are revoked")}
		case !now.Before(code.ExpiresAt):
			return Decision{Refusal: invalidGrant("the code has expired")}
		case code.ClientID != c.ID:
			return Decision{Refusal: invalidGrant("the code was issued to another client")}
		case code.RedirectURI != req.RedirectURI:
			return Decision{Refusal: invalidGrant("redirect_uri is not the one of the authorization request")}
		case !VerifierMatches(code.Challenge, req.CodeVerifier):
			return Decision{Refusal: invalidGrant("code_verifier does not match the code_challenge")}
		case person.Refusal() != "":
			return Decision{Refusal: invalidGrant(person.Refusal())}
		}
		scope := strings.Fields(code.Scope)
		family := &Family{Tenant: c.Tenant, ID: randomToken(16), ClientID: c.ID, Subject: code.Subject, SID: code.SID,
			Scope: code.Scope, AuthTime: code.AuthTime, AMR: code.AMR, CreatedAt: now}
		t, iss, err := i.mint(ctx, c, personGrant{Subject: code.Subject, Scope: scope, Nonce: code.Nonce, AuthTime: code.AuthTime,
			AMR: code.AMR, SID: code.SID, FamilyID: family.ID, Offline: slices.Contains(scope, "offline_access")}, now)
		if err != nil {
			return Decision{Refusal: serverError(err)}
		}
		family.ExpiresAt = iss.FamilyExpiresAt
		iss.Family, tok = family, t
		return Decision{Issue: iss}
	})
	if errs.Is(err, errs.NotFound) {
		return nil, invalidGrant("the code is invalid or has expired")
	}
	if err != nil {
		return nil, asOAuth(err)
	}
	return tok, nil
}

// asOAuth leaves a refusal as it is and makes any other error a server fault.
func asOAuth(err error) error {
	if _, ok := err.(*clients.OAuthError); ok {
		return err
	}
	return serverError(err)
}
