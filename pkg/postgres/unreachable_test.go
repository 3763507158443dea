package postgres

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/errs"
)

func TestUnreachable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"bad connection", fmt.Errorf("query: %w", driver.ErrBadConn), true},
		{"admin shutdown", &pq.Error{Code: "57P01"}, true},
		{"starting up", &pq.Error{Code: "57P03"}, true},
		{"too many connections", &pq.Error{Code: "53300"}, true},
		{"connection failure", &pq.Error{Code: "08006"}, true},
		{"unique violation", &pq.Error{Code: "23505"}, false},
		{"syntax error", &pq.Error{Code: "42601"}, false},
		{"domain error", errs.E(errs.Invalid, "bad"), false},
		{"plain", errors.New("boom"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Unreachable(tt.err); got != tt.want {
				t.Fatalf("Unreachable = %v, want %v", got, tt.want)
			}
			if tt.want && !errs.Is(Classify(tt.err), errs.Unavailable) {
				t.Fatalf("Classify = %v, want unavailable (503)", Classify(tt.err))
			}
		})
	}
}
