// Package httpapi translates HTTP to iam-subjects' use cases and back; nothing more.
package httpapi

import (
	"github.com/iamplane/iam/services/iam-subjects/api"
	"github.com/iamplane/iam/services/iam-subjects/internal/signin"
	"github.com/iamplane/iam/services/iam-subjects/internal/subjects"
)

// Server implements the generated strict server interface: each handler calls one of the
// use cases, of the directory or (passwords) of sign-in.
type Server struct {
	directory *subjects.Directory
	signin    *signin.Authenticator
}

// NewServer serves the directory's and sign-in's use cases.
func NewServer(directory *subjects.Directory, authenticator *signin.Authenticator) *Server {
	return &Server{directory: directory, signin: authenticator}
}

var _ api.StrictServerInterface = (*Server)(nil)
