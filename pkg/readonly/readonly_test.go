package readonly

import (
	"errors"
	"testing"
	"time"

	"github.com/iamplane/iam/pkg/errs"
)

func TestCheck(t *testing.T) {
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	same, other, english := "a", "b", "Admins"
	three, four := int64(3), int64(4)
	yes := true
	later := at.Add(time.Second)
	inBerlin := at.In(time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		name   string
		fill   func(c *Check)
		fields []string
	}{
		{"nothing sent", func(c *Check) { c.String("id", nil, "a"); c.Time("t", nil, at); c.Set("s", nil, []string{"x"}) }, nil},
		{"equal", func(c *Check) {
			c.String("id", &same, "a")
			c.Time("t", &inBerlin, at)
			c.Set("s", []string{"y", "x", "x"}, []string{"x", "y"})
			c.Int("n", &three, 3)
			c.String("text", &english, "Administratoren", "Admins")
			c.Bool("b", &yes, true)
		}, nil},
		{"changed", func(c *Check) {
			c.String("id", &other, "a")
			c.Time("t", &later, at)
			c.Set("s", []string{}, []string{"x"})
			c.Int("n", &four, 3)
			c.String("text", &other, "Administratoren", "Admins")
			c.Bool("b", &yes, false)
			c.Refuse("groups", "is read-only")
		}, []string{"id", "t", "s", "n", "text", "b", "groups"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Check
			tc.fill(&c)
			err := c.Err()
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *errs.Error
			if !errors.As(err, &e) || e.Kind != errs.Invalid || len(e.Fields) != len(tc.fields) {
				t.Fatalf("got %v, want %v named", err, tc.fields)
			}
			for i, f := range tc.fields {
				if e.Fields[i].Field != f {
					t.Errorf("field %d: %s, want %s", i, e.Fields[i].Field, f)
				}
			}
		})
	}
}
