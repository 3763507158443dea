package clients

import (
	"context"
	"hash/fnv"

	"github.com/iamplane/iam/pkg/errs"
)

// Number is the secret's id as a number, for Aritma v0, whose secret ids are int32: a
// hash of the id, stable for the secret's life. Two secrets of one client share a number
// with a chance of about one in a billion; DeleteSecretNumbered then refuses to guess.
func (s *Secret) Number() int32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s.ID))
	return int32(h.Sum32() & 0x7fffffff)
}

// DeleteSecretNumbered revokes the client's secret whose Number is n.
func (r *Registry) DeleteSecretNumbered(ctx context.Context, tenant, clientID string, n int32) error {
	secrets, err := r.store.Secrets(ctx, tenant, clientID)
	if err != nil {
		return err
	}
	var id string
	for i := range secrets {
		if secrets[i].Number() != n {
			continue
		}
		if id != "" {
			return errs.E(errs.Conflict, "client %q has two secrets numbered %d; revoke one by its id (DELETE /v1/tenants/{tenant}/clients/{clientId}/secrets/{secretId})", clientID, n)
		}
		id = secrets[i].ID
	}
	if id == "" {
		return errs.E(errs.NotFound, "client %q has no secret %d", clientID, n)
	}
	return r.DeleteSecret(ctx, tenant, clientID, id)
}
