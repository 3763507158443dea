package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	consentapi "github.com/iamplane/iam/services/consent/api"
	policiesapi "github.com/iamplane/iam/services/iam-policies/api"
	subjectsapi "github.com/iamplane/iam/services/iam-subjects/api"
	clientsapi "github.com/iamplane/iam/services/oauth-clients/api"
)

// apis are the generated clients of the four services, authenticated.
type apis struct {
	clients  *clientsapi.ClientWithResponses
	subjects *subjectsapi.ClientWithResponses
	policies *policiesapi.ClientWithResponses
	consent  *consentapi.ClientWithResponses
}

func (a *app) connect(ctx context.Context) (*apis, *config, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	tok, err := token(ctx, *cfg)
	if err != nil {
		return nil, nil, err
	}
	auth := bearer(tok)
	c1, _ := clientsapi.NewClientWithResponses(cfg.URL, clientsapi.WithRequestEditorFn(auth))
	c2, _ := subjectsapi.NewClientWithResponses(cfg.URL, subjectsapi.WithRequestEditorFn(auth))
	c3, _ := policiesapi.NewClientWithResponses(cfg.URL, policiesapi.WithRequestEditorFn(auth))
	c4, _ := consentapi.NewClientWithResponses(cfg.URL, consentapi.WithRequestEditorFn(auth))
	return &apis{c1, c2, c3, c4}, cfg, nil
}

// resource is one noun of the CLI; nil verbs are not offered.
type resource struct {
	name, short string
	columns     []string // JSON fields shown by -o table
	list        func(ctx context.Context, c *apis, tenant string) (any, error)
	get         func(ctx context.Context, c *apis, tenant, id string) (any, error)
	create      func(ctx context.Context, c *apis, tenant string, body []byte) (any, error)
	// update replaces one from a file that names the version it is based on (metadata.version).
	update func(ctx context.Context, c *apis, tenant, id string, body []byte) (any, error)
	del    func(ctx context.Context, c *apis, tenant, id string) error
}

// answer turns a generated response into its result or an error carrying the problem.
func answer[T any](ok *T, status int, body []byte) (any, error) {
	if ok == nil {
		return nil, fmt.Errorf("%d: %s", status, strings.TrimSpace(string(body)))
	}
	return ok, nil
}

func deleted(status int, body []byte) error {
	if status != 204 && status != 200 {
		return fmt.Errorf("%d: %s", status, strings.TrimSpace(string(body)))
	}
	return nil
}

func decode[T any](body []byte) (T, error) {
	var v T
	var generic any
	if err := yaml.Unmarshal(body, &generic); err != nil {
		return v, fmt.Errorf("parse input: %w", err)
	}
	raw, _ := json.Marshal(generic)
	return v, json.Unmarshal(raw, &v)
}

var resources = []resource{{
	name: "clients", short: "OAuth clients", columns: []string{"clientId", "clientName", "scopes"},
	list: func(ctx context.Context, c *apis, t string) (any, error) { return printable(allClients(ctx, c, t)) },
	get: func(ctx context.Context, c *apis, t, id string) (any, error) {
		r, err := c.clients.GetClientWithResponse(ctx, t, id)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON200, r.StatusCode(), r.Body)
	},
	create: func(ctx context.Context, c *apis, t string, b []byte) (any, error) {
		in, err := decode[clientsapi.ClientInput](b)
		if err != nil {
			return nil, err
		}
		r, err := c.clients.CreateClientWithResponse(ctx, t, in)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON201, r.StatusCode(), r.Body)
	},
	del: func(ctx context.Context, c *apis, t, id string) error {
		r, err := c.clients.DeleteClientWithResponse(ctx, t, id)
		if err != nil {
			return err
		}
		return deleted(r.StatusCode(), r.Body)
	},
}, {
	name: "scopes", short: "OAuth scope definitions", columns: []string{"name", "displayName", "builtIn"},
	list: func(ctx context.Context, c *apis, t string) (any, error) { return printable(allScopes(ctx, c, t)) },
	get: func(ctx context.Context, c *apis, t, id string) (any, error) {
		r, err := c.clients.GetScopeWithResponse(ctx, t, id)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON200, r.StatusCode(), r.Body)
	},
	create: func(ctx context.Context, c *apis, t string, b []byte) (any, error) {
		in, err := decode[clientsapi.ScopeInput](b)
		if err != nil {
			return nil, err
		}
		r, err := c.clients.CreateScopeWithResponse(ctx, t, in)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON201, r.StatusCode(), r.Body)
	},
	del: func(ctx context.Context, c *apis, t, id string) error {
		r, err := c.clients.DeleteScopeWithResponse(ctx, t, id, nil)
		if err != nil {
			return err
		}
		return deleted(r.StatusCode(), r.Body)
	},
}, {
	name: "users", short: "users", columns: []string{"id", "username", "email", "groupIds"},
	list: func(ctx context.Context, c *apis, t string) (any, error) { return printable(allUsers(ctx, c, t)) },
	get: func(ctx context.Context, c *apis, t, id string) (any, error) {
		r, err := c.subjects.GetUserWithResponse(ctx, t, id, nil)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON200, r.StatusCode(), r.Body)
	},
	create: func(ctx context.Context, c *apis, t string, b []byte) (any, error) {
		in, err := decode[subjectsapi.UserInput](b)
		if err != nil {
			return nil, err
		}
		r, err := c.subjects.CreateUserWithResponse(ctx, t, in)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON201, r.StatusCode(), r.Body)
	},
	del: func(ctx context.Context, c *apis, t, id string) error {
		force := true
		r, err := c.subjects.DeleteUserWithResponse(ctx, t, id, &subjectsapi.DeleteUserParams{ForceDelete: &force})
		if err != nil {
			return err
		}
		return deleted(r.StatusCode(), r.Body)
	},
}, {
	name: "groups", short: "groups", columns: []string{"id", "displayName", "memberCount"},
	list: func(ctx context.Context, c *apis, t string) (any, error) { return printable(allGroups(ctx, c, t)) },
	get: func(ctx context.Context, c *apis, t, id string) (any, error) {
		r, err := c.subjects.GetGroupWithResponse(ctx, t, id, nil)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON200, r.StatusCode(), r.Body)
	},
	create: func(ctx context.Context, c *apis, t string, b []byte) (any, error) {
		in, err := decode[subjectsapi.GroupInput](b)
		if err != nil {
			return nil, err
		}
		r, err := c.subjects.CreateGroupWithResponse(ctx, t, in)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON201, r.StatusCode(), r.Body)
	},
	del: func(ctx context.Context, c *apis, t, id string) error {
		force := true
		r, err := c.subjects.DeleteGroupWithResponse(ctx, t, id, &subjectsapi.DeleteGroupParams{ForceDelete: &force})
		if err != nil {
			return err
		}
		return deleted(r.StatusCode(), r.Body)
	},
}, {
	name: "policies", short: "policies (delete takes a subject id and revokes its policies)", columns: []string{"subject", "scope", "action"},
	list: func(ctx context.Context, c *apis, t string) (any, error) { return printable(allPolicies(ctx, c, t)) },
	create: func(ctx context.Context, c *apis, t string, b []byte) (any, error) {
		in, err := decode[policiesapi.PolicyInput](b)
		if err != nil {
			return nil, err
		}
		r, err := c.policies.GrantPolicyWithResponse(ctx, t, nil, in)
		if err == nil && r.JSON200 != nil {
			return r.JSON200, nil
		}
		if err != nil {
			return nil, err
		}
		return answer(r.JSON201, r.StatusCode(), r.Body)
	},
	del: func(ctx context.Context, c *apis, t, subject string) error {
		r, err := c.policies.RevokePoliciesWithResponse(ctx, t, &policiesapi.RevokePoliciesParams{Subject: subject})
		if err != nil {
			return err
		}
		return deleted(r.StatusCode(), r.Body)
	},
}, {
	name: "actions", short: "the IAM actions catalog", columns: []string{"id", "displayName"},
	list: func(ctx context.Context, c *apis, t string) (any, error) { return printable(allActions(ctx, c, t)) },
	create: func(ctx context.Context, c *apis, t string, b []byte) (any, error) {
		in, err := decode[policiesapi.ActionInput](b)
		if err != nil {
			return nil, err
		}
		r, err := c.policies.CreateActionWithResponse(ctx, t, in)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON201, r.StatusCode(), r.Body)
	},
	get: func(ctx context.Context, c *apis, t, id string) (any, error) {
		r, err := c.policies.GetActionWithResponse(ctx, t, id)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON200, r.StatusCode(), r.Body)
	},
	update: func(ctx context.Context, c *apis, t, id string, b []byte) (any, error) {
		in, err := decode[policiesapi.ActionUpdate](b)
		if err != nil {
			return nil, err
		}
		r, err := c.policies.UpdateActionWithResponse(ctx, t, id, nil, in)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON200, r.StatusCode(), r.Body)
	},
	del: func(ctx context.Context, c *apis, t, id string) error {
		r, err := c.policies.DeleteActionWithResponse(ctx, t, id)
		if err != nil {
			return err
		}
		return deleted(r.StatusCode(), r.Body)
	},
}, {
	name: "consents", short: "consents", columns: []string{"id", "name", "version", "canBeWithdrawn"},
	list: func(ctx context.Context, c *apis, t string) (any, error) { return printable(allConsents(ctx, c, t)) },
	get: func(ctx context.Context, c *apis, t, id string) (any, error) {
		r, err := c.consent.GetConsentWithResponse(ctx, t, id)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON200, r.StatusCode(), r.Body)
	},
	create: func(ctx context.Context, c *apis, t string, b []byte) (any, error) {
		in, err := decode[consentapi.ConsentInput](b)
		if err != nil {
			return nil, err
		}
		r, err := c.consent.CreateConsentWithResponse(ctx, t, in)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON201, r.StatusCode(), r.Body)
	},
	del: func(ctx context.Context, c *apis, t, id string) error {
		r, err := c.consent.DeleteConsentWithResponse(ctx, t, id)
		if err != nil {
			return err
		}
		return deleted(r.StatusCode(), r.Body)
	},
}, {
	name: "consent-actions", short: "consent actions", columns: []string{"id", "name", "description"},
	list: func(ctx context.Context, c *apis, t string) (any, error) {
		return printable(allConsentActions(ctx, c, t))
	},
	create: func(ctx context.Context, c *apis, t string, b []byte) (any, error) {
		in, err := decode[consentapi.ConsentActionInput](b)
		if err != nil {
			return nil, err
		}
		r, err := c.consent.CreateConsentActionWithResponse(ctx, t, in)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON201, r.StatusCode(), r.Body)
	},
	get: func(ctx context.Context, c *apis, t, id string) (any, error) {
		r, err := c.consent.GetConsentActionWithResponse(ctx, t, id)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON200, r.StatusCode(), r.Body)
	},
	update: func(ctx context.Context, c *apis, t, id string, b []byte) (any, error) {
		// What `get -o json` printed, edited, is accepted as it is: the API takes its own
		// representation back (read-only fields checked there); metadata.version guards
		// the change.
		in, err := decode[consentapi.ConsentActionInput](b)
		if err != nil {
			return nil, err
		}
		r, err := c.consent.UpdateConsentActionWithResponse(ctx, t, id, nil, in)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON200, r.StatusCode(), r.Body)
	},
	del: func(ctx context.Context, c *apis, t, id string) error {
		r, err := c.consent.DeleteConsentActionWithResponse(ctx, t, id)
		if err != nil {
			return err
		}
		return deleted(r.StatusCode(), r.Body)
	},
}}

func (a *app) resourceCmd(r resource) *cobra.Command {
	cmd := &cobra.Command{Use: r.name, Short: "Manage " + r.short}
	run := func(f func(ctx context.Context, c *apis, tenant string, args []string) (any, error)) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			c, cfg, err := a.connect(cmd.Context())
			if err != nil {
				return err
			}
			out, err := f(cmd.Context(), c, a.target(cfg), args)
			if err != nil || out == nil {
				return err
			}
			return a.print(cmd.OutOrStdout(), out, r.columns)
		}
	}
	if r.list != nil {
		cmd.AddCommand(&cobra.Command{Use: "list", Short: "List " + r.short, Args: cobra.NoArgs,
			RunE: run(func(ctx context.Context, c *apis, t string, _ []string) (any, error) { return r.list(ctx, c, t) })})
	}
	if r.get != nil {
		cmd.AddCommand(&cobra.Command{Use: "get ID", Short: "Show one", Args: cobra.ExactArgs(1),
			RunE: run(func(ctx context.Context, c *apis, t string, args []string) (any, error) {
				return r.get(ctx, c, t, args[0])
			})})
	}
	if r.create != nil {
		var file string
		create := &cobra.Command{Use: "create -f FILE", Short: "Create from a YAML or JSON file (- for stdin)", Args: cobra.NoArgs,
			RunE: run(func(ctx context.Context, c *apis, t string, _ []string) (any, error) {
				b, err := a.read(file)
				if err != nil {
					return nil, err
				}
				return r.create(ctx, c, t, b)
			})}
		create.Flags().StringVarP(&file, "file", "f", "-", "input file")
		cmd.AddCommand(create)
	}
	if r.update != nil {
		var file string
		update := &cobra.Command{Use: "update ID -f FILE", Short: "Replace from a YAML or JSON file naming the version it is based on (metadata.version, as get shows it)",
			Args: cobra.ExactArgs(1),
			RunE: run(func(ctx context.Context, c *apis, t string, args []string) (any, error) {
				b, err := a.read(file)
				if err != nil {
					return nil, err
				}
				return r.update(ctx, c, t, args[0], b)
			})}
		update.Flags().StringVarP(&file, "file", "f", "-", "input file")
		cmd.AddCommand(update)
	}
	if r.del != nil {
		cmd.AddCommand(&cobra.Command{Use: "delete ID", Short: "Delete one", Args: cobra.ExactArgs(1),
			RunE: run(func(ctx context.Context, c *apis, t string, args []string) (any, error) {
				return nil, r.del(ctx, c, t, args[0])
			})})
	}
	return cmd
}

func (a *app) read(file string) ([]byte, error) {
	if file == "-" {
		return io.ReadAll(a.stdin)
	}
	return os.ReadFile(file)
}

// print writes v as JSON, or as a table of columns (a list's data rows, or one object).
func (a *app) print(w io.Writer, v any, columns []string) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if a.output == "json" {
		var pretty any
		_ = json.Unmarshal(raw, &pretty)
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(pretty)
	}
	if a.output != "table" {
		return fail("unknown output %q: json or table", a.output)
	}
	var page struct {
		Data []map[string]any `json:"data"`
	}
	var rows []map[string]any
	if json.Unmarshal(raw, &page) == nil && page.Data != nil {
		rows = page.Data
	} else {
		var one map[string]any
		if err := json.Unmarshal(raw, &one); err != nil {
			return err
		}
		rows = []map[string]any{one}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(columns, "\t")))
	for _, row := range rows {
		cells := make([]string, len(columns))
		for i, c := range columns {
			cells[i] = cell(row[c])
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = cell(e)
		}
		return strings.Join(parts, ",")
	case map[string]any: // localized text: en=Groups,de=Gruppen, English first
		parts := make([]string, 0, len(x))
		for k, e := range x {
			parts = append(parts, k+"="+cell(e))
		}
		slices.SortFunc(parts, func(p, q string) int {
			if pe, qe := strings.HasPrefix(p, "en="), strings.HasPrefix(q, "en="); pe != qe {
				if pe {
					return -1
				}
				return 1
			}
			return strings.Compare(p, q)
		})
		return strings.Join(parts, ",")
	default:
		return fmt.Sprint(x)
	}
}
