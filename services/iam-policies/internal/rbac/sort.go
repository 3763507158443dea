package rbac

import (
	"strings"

	"github.com/iamplane/iam/pkg/errs"
)

// SortKey orders a listing by one field, ascending unless Desc.
type SortKey struct {
	Field string
	Desc  bool
}

// Fields a listing can be sorted by: name and description (in the query's Language,
// else English), code (resources and permissions only), id and the metadata instants.
const (
	SortName       = "name"
	SortDescr      = "description"
	SortCode       = "code"
	SortID         = "id"
	SortCreatedAt  = "metadata.createdAt"
	SortModifiedAt = "metadata.modifiedAt"
)

var sortable = []string{SortName, SortDescr, SortCode, SortID, SortCreatedAt, SortModifiedAt}

// ParseSort reads Emporix's sort parameter: `field[:asc|:desc]` pairs separated by
// commas. An unknown field or direction is refused naming the parameter, never ignored.
func ParseSort(raw string) ([]SortKey, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	var keys []SortKey
	var bad []errs.FieldError
	for _, part := range strings.Split(raw, ",") {
		field, dir, hasDir := strings.Cut(strings.TrimSpace(part), ":")
		k := SortKey{Field: field}
		switch strings.ToLower(dir) {
		case "asc":
		case "desc":
			k.Desc = true
		default:
			if hasDir || dir != "" {
				bad = append(bad, errs.FieldError{Field: "query.sort", Message: "direction " + dir + " is neither asc nor desc"})
				continue
			}
		}
		if !contains(sortable, field) {
			bad = append(bad, errs.FieldError{Field: "query.sort", Message: "cannot sort by " + field + "; one of " + strings.Join(sortable, ", ")})
			continue
		}
		keys = append(keys, k)
	}
	if len(bad) > 0 {
		return nil, &errs.Error{Kind: errs.BadRequest, Detail: "invalid sort", Fields: bad}
	}
	return keys, nil
}

// checkSort refuses sorting by code where the entries have none.
func (q Query) checkSort(hasCode bool) error {
	for _, k := range q.Sort {
		if k.Field == SortCode && !hasCode {
			return &errs.Error{Kind: errs.BadRequest, Detail: "invalid sort",
				Fields: []errs.FieldError{{Field: "query.sort", Message: "these entries have no code to sort by"}}}
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
