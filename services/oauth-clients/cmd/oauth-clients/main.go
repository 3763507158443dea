// Command oauth-clients serves the OAuth client registry and token endpoints.
package main

import (
	"github.com/iamplane/iam/pkg/service"

	oauthclients "github.com/iamplane/iam/services/oauth-clients"
)

func main() { service.Main(oauthclients.Name, oauthclients.Run) }
