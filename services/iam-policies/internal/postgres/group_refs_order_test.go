package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"

	"github.com/iamplane/iam/services/iam-policies/internal/postgres"
	"github.com/iamplane/iam/services/iam-policies/internal/rbac"
)

// TestGroupAssignmentsAreOrderIndependent: the assignments derived from Emporix groups'
// accessControls and templates end the same whatever order their group events come in,
// with duplicates and stale copies, one at a time or in batches: those the newest event of
// each group names and that exist.
func TestGroupAssignmentsAreOrderIndependent(t *testing.T) {
	w := mustOrderWorld(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	for run := range 12 {
		tenant := fmt.Sprintf("refs%d", run)
		catalog := rbac.NewCatalog(&postgres.RBAC{DB: w.db, Scopes: &postgres.ScopeSets{}}, time.Now, uuid.NewString)
		acs, templates := mustRBACCatalog(t, catalog, tenant)
		known := append(slices.Clone(acs), "unknown-ac")
		// Each group's events, versions rising; the last may be a tombstone.
		var evs []pkgevents.Envelope
		want := map[string][]string{}
		version := int64(0)
		for _, group := range []string{"g1", "g2", "g3"} {
			for i := range 1 + rng.IntN(5) {
				version++
				deleted := i > 0 && rng.IntN(5) == 0
				var named, tpls []string
				if !deleted {
					for _, id := range known {
						if rng.IntN(2) == 0 {
							named = append(named, id)
						}
					}
					if rng.IntN(2) == 0 {
						tpls = templates
					}
				}
				var got []string
				for _, id := range named {
					if id != "unknown-ac" {
						got = append(got, "ac:"+id)
					}
				}
				for _, id := range tpls {
					got = append(got, "tpl:"+id)
				}
				slices.Sort(got)
				want["group-"+group] = got
				evs = append(evs, groupEnvelope(t, tenant, group, version, deleted, named, tpls))
			}
		}
		var err error
		if run%2 == 0 {
			err = w.applyAll(shuffled(rng, evs))
		} else {
			err = w.runBatchedNoGrants(shuffled(rng, evs), rng)
		}
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][]string{}
		var rows []struct {
			Subject string `db:"subject"`
			Ref     string `db:"ref"`
		}
		if err := w.db.Select(&rows, `SELECT subject, CASE WHEN access_control_id IS NOT NULL THEN 'ac:' || access_control_id ELSE 'tpl:' || template_id END AS ref
			FROM rbac_assignments WHERE tenant = $1 AND from_group ORDER BY 1, 2`, tenant); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			got[r.Subject] = append(got[r.Subject], r.Ref)
		}
		for group, refs := range want {
			if !slices.Equal(got[group], refs) {
				t.Errorf("run %d, %s: %v, want %v (seed %d)", run, group, got[group], refs, seed)
			}
		}
	}
}

// runBatchedNoGrants applies evs in batches of random sizes.
func (w *orderWorld) runBatchedNoGrants(evs []pkgevents.Envelope, rng *rand.Rand) error {
	for len(evs) > 0 {
		n := min(len(evs), 1+rng.IntN(6))
		if _, err := w.applyBatch(evs[:n]); err != nil {
			return err
		}
		evs = evs[n:]
	}
	return nil
}

func groupEnvelope(tb testing.TB, tenant, id string, version int64, deleted bool, acs, templates []string) pkgevents.Envelope {
	tb.Helper()
	state := schema.GroupState{Tenant: tenant, Id: id, SubjectId: "group-" + id, DisplayName: id, Deleted: deleted}
	if len(acs) > 0 {
		state.AccessControls = &acs
	}
	if len(templates) > 0 {
		state.Templates = &templates
	}
	ev, err := pkgevents.New("/iam/iam-subjects", pkgevents.Entity{Tenant: tenant, Area: "subjects", Kind: "group", ID: id}, version, deleted, state)
	if err != nil {
		tb.Fatal(err)
	}
	return ev
}

// mustRBACCatalog creates three access controls and a template holding the first.
func mustRBACCatalog(tb testing.TB, c *rbac.Catalog, tenant string) (acs, templates []string) {
	tb.Helper()
	ctx := context.Background()
	res, err := c.CreateResource(ctx, tenant, rbac.ResourceFields{Name: map[string]string{"en": "Groups"}, Code: "iam.group"})
	if err != nil {
		tb.Fatal(err)
	}
	perm, err := c.CreatePermission(ctx, tenant, rbac.PermissionFields{Name: map[string]string{"en": "Read"}, Code: "read", ApplicableResources: []string{res.ID}})
	if err != nil {
		tb.Fatal(err)
	}
	role, err := c.CreateRole(ctx, tenant, rbac.RoleFields{Name: map[string]string{"en": "Reader"}, Permissions: []rbac.RolePermission{{ID: perm.ID}}})
	if err != nil {
		tb.Fatal(err)
	}
	for i := range 3 {
		ac, err := c.CreateAccessControl(ctx, tenant, rbac.AccessControlFields{Name: map[string]string{"en": fmt.Sprint("ac", i)}, RoleID: role.ID, ResourceID: res.ID})
		if err != nil {
			tb.Fatal(err)
		}
		acs = append(acs, ac.ID)
	}
	tpl, err := c.CreateTemplate(ctx, tenant, rbac.TemplateFields{Name: map[string]string{"en": "t"}, AccessControls: acs[:1]})
	if err != nil {
		tb.Fatal(err)
	}
	return acs, []string{tpl.ID}
}
