package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/iamplane/iam/pkg/errs"
	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/iam-subjects/internal/events"
	"github.com/iamplane/iam/services/iam-subjects/internal/subjects"
)

// Republish records anew, in tx, the current state of each named user, group or
// membership of tenant: an event for what
// exists, a tombstone for what does not. A view's reconciler asks for it when the view
// differs from this directory (pkg/events.Source); the rows are locked as a write would
// lock them, so the republished state cannot overtake a concurrent change.
func (s *Directory) Republish(ctx context.Context, tx *sqlx.Tx, tenant string, entities []pkgevents.Entity) error {
	return pkgevents.EachEntity(currentState)(ctx, tx, tenant, entities)
}

func currentState(ctx context.Context, tx *sqlx.Tx, e pkgevents.Entity) (pkgevents.Envelope, error) {
	tenant, id := e.Tenant, e.ID
	switch e.Kind {
	case "user":
		u, err := getUser(ctx, tx, tenant, id, true)
		if errs.Is(err, errs.NotFound) {
			return events.UserDeleted(tenant, id)
		} else if err != nil {
			return pkgevents.Envelope{}, err
		}
		return events.UserChanged(u)
	case "group":
		g, err := getGroup(ctx, tx, tenant, id, true)
		if errs.Is(err, errs.NotFound) {
			return events.GroupDeleted(tenant, id)
		} else if err != nil {
			return pkgevents.Envelope{}, err
		}
		return events.GroupChanged(g)
	case "membership":
		groupID, member, _ := strings.Cut(id, "~")
		ref, err := subjects.ParseID(member)
		if err != nil {
			return pkgevents.Envelope{}, fmt.Errorf("membership %q: %w", id, err)
		}
		var exists bool
		if err := tx.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM memberships
			WHERE tenant = $1 AND group_id = $2 AND member_type = $3 AND member_id = $4 FOR SHARE)`,
			tenant, groupID, string(ref.Type), ref.ID); err != nil {
			return pkgevents.Envelope{}, postgres.Classify(err)
		}
		return events.Membership(tenant, groupID, ref, !exists)
	}
	return pkgevents.Envelope{}, fmt.Errorf("iam-subjects publishes no %q entities", e.Kind)
}
