package postgres

import (
	"context"
	"sync"

	"github.com/jmoiron/sqlx"
)

// Prepared keeps the statements of a hot path prepared: lib/pq otherwise sends each query
// to be parsed and planned anew on every call, which for a statement of several joins or
// data-modifying parts costs more than running it. database/sql prepares a statement again
// on each connection that needs it (after a database restart, too).
type Prepared struct {
	DB *sqlx.DB

	mu    sync.Mutex
	stmts map[string]*sqlx.Stmt
}

// Stmt is query, prepared once.
func (p *Prepared) Stmt(ctx context.Context, query string) (*sqlx.Stmt, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.stmts[query]; ok {
		return s, nil
	}
	s, err := p.DB.PreparexContext(ctx, query)
	if err != nil {
		return nil, Classify(err)
	}
	if p.stmts == nil {
		p.stmts = map[string]*sqlx.Stmt{}
	}
	p.stmts[query] = s
	return s, nil
}
