// Package httpapi translates HTTP to iam-subjects' use cases and back; nothing more.
package httpapi

import (
	"github.com/iamplane/iam/services/iam-subjects/api"
	"github.com/iamplane/iam/services/iam-subjects/internal/subjects"
)

// Server implements the generated strict server interface: each handler calls one of the
// directory's use cases.
type Server struct {
	directory *subjects.Directory
}

// NewServer serves the directory's use cases.
func NewServer(directory *subjects.Directory) *Server { return &Server{directory: directory} }

var _ api.StrictServerInterface = (*Server)(nil)
