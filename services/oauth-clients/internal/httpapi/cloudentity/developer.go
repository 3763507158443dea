package cloudentity

import (
	"context"

	"github.com/iamplane/iam/services/oauth-clients/api/cloudentity"
	"github.com/iamplane/iam/services/oauth-clients/internal/clients"
	"github.com/iamplane/iam/services/oauth-clients/internal/httpapi"
)

// maxListed is how many clients the developer list answers: the seed's list has no paging.
const maxListed = 10000

func developerOut(c *clients.Client, tenant string, secret *clients.Secret) cloudentity.DeveloperClient {
	var out cloudentity.DeveloperClient
	remarshal(clientOut(c, tenant, secret), &out)
	return out
}

// CeListClientsForDeveloper lists the caller's clients (every developer's for an admin).
func (s *Server) CeListClientsForDeveloper(ctx context.Context, req cloudentity.CeListClientsForDeveloperRequestObject) (cloudentity.CeListClientsForDeveloperResponseObject, error) {
	page, err := s.clients.ListOwned(ctx, req.Tid, clients.ListQuery{Limit: maxListed}, httpapi.Caller(ctx))
	if err != nil {
		return nil, err
	}
	out := cloudentity.CeListClientsForDeveloper200JSONResponse{Clients: make([]cloudentity.DeveloperClient, len(page.Clients))}
	for i := range page.Clients {
		out.Clients[i] = developerOut(&page.Clients[i], req.Tid, nil)
	}
	return out, nil
}

// CeCreateClientForDeveloper registers a client the caller owns; id and secret are generated.
func (s *Server) CeCreateClientForDeveloper(ctx context.Context, req cloudentity.CeCreateClientForDeveloperRequestObject) (cloudentity.CeCreateClientForDeveloperResponseObject, error) {
	var in cloudentity.Client
	remarshal(req.Body, &in)
	m, _, err := metadataFrom(&in, req.Tid, nil)
	if err != nil {
		return nil, err
	}
	c, secret, err := s.clients.CreateOwned(ctx, req.Tid, m, httpapi.Caller(ctx))
	if err != nil {
		return nil, renamed(err)
	}
	return cloudentity.CeCreateClientForDeveloper201JSONResponse(developerOut(c, req.Tid, secret)), nil
}

// CeGetClientForDeveloper returns one of the caller's clients, never its secret.
func (s *Server) CeGetClientForDeveloper(ctx context.Context, req cloudentity.CeGetClientForDeveloperRequestObject) (cloudentity.CeGetClientForDeveloperResponseObject, error) {
	c, err := s.clients.GetOwned(ctx, req.Tid, req.Cid, httpapi.Caller(ctx))
	if err != nil {
		return nil, err
	}
	return cloudentity.CeGetClientForDeveloper200JSONResponse(developerOut(c, req.Tid, nil)), nil
}

// CeUpdateClientForDeveloper replaces one of the caller's clients with the body.
func (s *Server) CeUpdateClientForDeveloper(ctx context.Context, req cloudentity.CeUpdateClientForDeveloperRequestObject) (cloudentity.CeUpdateClientForDeveloperResponseObject, error) {
	var in cloudentity.Client
	remarshal(req.Body, &in)
	c, err := s.clients.ReviseOwned(ctx, req.Tid, req.Cid, func(c *clients.Client, m *clients.Metadata) error {
		next, _, err := metadataFrom(&in, req.Tid, &existing{id: c.ID, developer: c.DeveloperID, createdAt: c.CreatedAt, system: c.System})
		next.Trusted = m.Trusted // not the developer's to set
		*m = next
		return err
	}, httpapi.Caller(ctx))
	if err != nil {
		return nil, renamed(err)
	}
	return cloudentity.CeUpdateClientForDeveloper200JSONResponse(developerOut(c, req.Tid, nil)), nil
}

// CeDeleteClientForDeveloper removes one of the caller's clients.
func (s *Server) CeDeleteClientForDeveloper(ctx context.Context, req cloudentity.CeDeleteClientForDeveloperRequestObject) (cloudentity.CeDeleteClientForDeveloperResponseObject, error) {
	if err := s.clients.DeleteOwned(ctx, req.Tid, req.Cid, httpapi.Caller(ctx)); err != nil {
		return nil, err
	}
	return cloudentity.CeDeleteClientForDeveloper204Response{}, nil
}
