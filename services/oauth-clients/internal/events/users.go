package events

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jmoiron/sqlx"

	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"

	"github.com/iamplane/iam/services/oauth-clients/internal/users"
)

// UserView stores people as iam-subjects publishes them.
type UserView interface {
	Put(ctx context.Context, tx *sqlx.Tx, u *users.User) error
}

// Users keeps the view of iam-subjects' users: what userinfo answers, and whether a
// person's refresh token still works (a deleted or locked person's does not). Events
// carry the full state and the consumer's version guard drops stale ones, so the view
// is the newest state whatever the order; a tombstone is kept as a deleted person.
func Users(view UserView) *pkgevents.Consumer {
	return &pkgevents.Consumer{
		Name:     "oauth-clients-users",
		Subjects: []string{"iam.*.subjects.user.*"},
		Apply: func(ctx context.Context, tx *sqlx.Tx, ev pkgevents.Envelope) error {
			var st schema.UserState
			if err := json.Unmarshal(ev.Data, &st); err != nil {
				return fmt.Errorf("decode user: %w", err)
			}
			if st.Tenant != ev.Tenant || st.Id != ev.EntityID() {
				return fmt.Errorf("user %s/%s in an event for %s/%s", st.Tenant, st.Id, ev.Tenant, ev.EntityID())
			}
			u := &users.User{Tenant: ev.Tenant, Subject: "user-" + st.Id, Deleted: ev.Deleted || st.Deleted}
			if !u.Deleted {
				u.DisplayName, u.Username, u.Email = st.DisplayName, deref(st.Username), deref(st.Email)
				u.EmailVerified, u.FirstName, u.LastName = deref(st.EmailVerified), deref(st.FirstName), deref(st.LastName)
				u.PhoneNumber, u.PreferredLanguage, u.Locked = deref(st.PhoneNumber), deref(st.PreferredLanguage), deref(st.IsAccountLocked)
			}
			return view.Put(ctx, tx, u)
		},
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
