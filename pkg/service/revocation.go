package service

import (
	"context"
	"errors"

	"github.com/iamplane/iam/pkg/revocation"
)

// Revocation through events. Every service's token middleware refuses tokens revoked
// after they were issued (a revoked jti, a deleted client, a deleted or locked user,
// withdrawn client access), from a deny set each replica keeps in memory and feeds from
// the IAM stream (package revocation). A starting service answers requests carrying a
// token with 503 until the set has caught up with the stream, for at most
// IAM_REVOCATION_WAIT; past that it serves with what it has, logs it and counts it
// (iam_revocation_catchup_timeouts_total). When NATS is lost it goes on serving with
// the set it holds (iam_nats_connected shows the outage).

// openRevocations makes p's deny set and starts the catch-up bound; the follower runs in
// Serve.
func (p *Platform) openRevocations() {
	p.Revocations = revocation.NewSet(p.Config.MaxTokenTTL)
	p.revocations = &revocation.Follower{Set: p.Revocations, Logger: p.Logger}
	p.revocations.Register(p.Registry)
	p.revocations.Hold(p.Config.RevocationWait)
}

// revocationsSettled is the readiness check of a starting service: not ready while it
// holds tokens back (503) for want of its revocations.
func (p *Platform) revocationsSettled(context.Context) error {
	if !p.Revocations.Settled() {
		return errors.New("loading token revocations")
	}
	return nil
}

// followRevocations feeds the deny set until ctx ends.
func (p *Platform) followRevocations(ctx context.Context) error {
	p.revocations.JS = p.JS
	return p.revocations.Run(ctx)
}
