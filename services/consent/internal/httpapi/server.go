// Package httpapi translates HTTP to consent's use cases and back; nothing more. Each
// resource has its file, named as in internal/consents and internal/postgres.
package httpapi

import (
	"github.com/iamplane/iam/services/consent/api"
	"github.com/iamplane/iam/services/consent/internal/consents"
)

// Server implements the generated strict server interface; every handler calls one use case.
type Server struct {
	book    *consents.Book
	actions *consents.Actions
}

// NewServer serves the consent use cases of book and the consent actions' of actions.
func NewServer(book *consents.Book, actions *consents.Actions) *Server {
	return &Server{book: book, actions: actions}
}

var _ api.StrictServerInterface = (*Server)(nil)
