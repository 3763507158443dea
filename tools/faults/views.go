package faults

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// CompareViews checks the views' contents against their sources, table against table, in
// the workload's tenants: a dry run compares versions only, this compares what the views
// hold. It returns one line per difference (at most a few per view) and their number.
func CompareViews(ctx context.Context, p *Platform) (int, []string, error) {
	var n int
	var lines []string
	for _, t := range Tenants {
		for _, c := range viewChecks {
			source, err := p.rows(ctx, c.sourceService, c.source, t)
			if err != nil {
				return 0, nil, err
			}
			view, err := p.rows(ctx, c.viewService, c.view, t)
			if err != nil {
				return 0, nil, err
			}
			if c.derive != nil {
				source = c.derive(source)
			}
			diff := differences(source, view)
			n += len(diff)
			for i, d := range diff {
				if i == 3 {
					lines = append(lines, fmt.Sprintf("%s (%s): ... %d in all", c.name, t, len(diff)))
					break
				}
				lines = append(lines, fmt.Sprintf("%s (%s): %s", c.name, t, d))
			}
		}
	}
	return n, lines, nil
}

// A viewCheck compares rows of "key\tvalue" from a source and a view.
type viewCheck struct {
	name                       string
	sourceService, viewService string
	source, view               string // queries taking the tenant as $1
	derive                     func(map[string]string) map[string]string
}

var viewChecks = []viewCheck{
	{name: "iam-subjects client subjects", sourceService: "oauth-clients", viewService: "iam-subjects",
		source: `SELECT id, name FROM clients WHERE tenant = $1`,
		view:   `SELECT id, display_name FROM subjects WHERE tenant = $1 AND type = 'Client'`},
	{name: "iam-policies users and groups", sourceService: "iam-subjects", viewService: "iam-policies",
		source: `SELECT lower(type) || '-' || id, display_name FROM subjects WHERE tenant = $1 AND type <> 'Client'`,
		view:   `SELECT subject, display_name FROM subject_view WHERE tenant = $1 AND subject NOT LIKE 'client-%'`},
	{name: "iam-policies client subjects", sourceService: "oauth-clients", viewService: "iam-policies",
		source: `SELECT 'client-' || id, name FROM clients WHERE tenant = $1`,
		view:   `SELECT subject, display_name FROM subject_view WHERE tenant = $1 AND subject LIKE 'client-%'`},
	{name: "iam-policies memberships", sourceService: "iam-subjects", viewService: "iam-policies",
		source: `SELECT group_id || ' ' || lower(member_type) || '-' || member_id, '' FROM memberships WHERE tenant = $1`,
		view:   `SELECT group_id || ' ' || member, '' FROM membership_view WHERE tenant = $1`},
	{name: "iam-policies group closure", sourceService: "iam-subjects", viewService: "iam-policies",
		source: `SELECT group_id || ' ' || member_id, '' FROM memberships WHERE tenant = $1 AND member_type = 'Group'`,
		view:   `SELECT ancestor || ' ' || descendant, '' FROM group_closure WHERE tenant = $1 AND ancestor <> descendant`,
		derive: closureOf},
	{name: "consent clients", sourceService: "oauth-clients", viewService: "consent",
		source: `SELECT id, name FROM clients WHERE tenant = $1`,
		view:   `SELECT id, name FROM client_view WHERE tenant = $1`},
	{name: "consent scopes", sourceService: "oauth-clients", viewService: "consent",
		source: `SELECT name, display_name FROM scope_definitions WHERE tenant = $1`,
		view:   `SELECT name, display_name FROM scope_view WHERE tenant = $1`},
	{name: "oauth-clients entitled scopes", sourceService: "iam-policies", viewService: "oauth-clients",
		source: `SELECT subject, array_to_string(ARRAY(SELECT unnest(scopes) ORDER BY 1), ' ') FROM entitled_scopes WHERE tenant = $1 AND cardinality(scopes) > 0`,
		view:   `SELECT subject, array_to_string(ARRAY(SELECT unnest(scopes) ORDER BY 1), ' ') FROM entitled_scopes WHERE tenant = $1 AND cardinality(scopes) > 0`},
}

func (p *Platform) rows(ctx context.Context, service, query, tenant string) (map[string]string, error) {
	db, err := p.DB(service)
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, query, tenant)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", service, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

// closureOf turns direct group-in-group edges ("parent child") into every ancestor and
// descendant pair, computed here independently of the service.
func closureOf(edges map[string]string) map[string]string {
	children := map[string][]string{}
	for k := range edges {
		parent, child, _ := strings.Cut(k, " ")
		children[parent] = append(children[parent], child)
	}
	out := map[string]string{}
	for parent := range children {
		seen := map[string]bool{}
		stack := slices.Clone(children[parent])
		for len(stack) > 0 {
			g := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[g] {
				continue
			}
			seen[g] = true
			out[parent+" "+g] = ""
			stack = append(stack, children[g]...)
		}
	}
	return out
}

func differences(source, view map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(source)) {
		v, ok := view[k]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%q missing from the view", k))
		case v != source[k]:
			out = append(out, fmt.Sprintf("%q is %q in the view, %q at the source", k, v, source[k]))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(view)) {
		if _, ok := source[k]; !ok {
			out = append(out, fmt.Sprintf("%q in the view, gone at the source", k))
		}
	}
	return out
}
