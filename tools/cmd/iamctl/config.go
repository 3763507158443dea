package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

// config is what login stores: where the platform is and which client to act as. The
// file is written 0600, like a kubeconfig; IAMCTL_CLIENT_SECRET overrides the secret.
type config struct {
	URL          string `yaml:"url"`
	Tenant       string `yaml:"tenant"`
	ClientID     string `yaml:"clientId"`
	ClientSecret string `yaml:"clientSecret,omitempty"`
}

func defaultConfigPath(getenv func(string) string) string {
	if p := getenv("IAMCTL_CONFIG"); p != "" {
		return p
	}
	home := getenv("HOME")
	return filepath.Join(home, ".config", "iamctl", "config.yaml")
}

func (a *app) loginCmd() *cobra.Command {
	var cfg config
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Check client credentials against the token endpoint and remember them",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.ClientSecret == "" {
				cfg.ClientSecret = a.getenv("IAMCTL_CLIENT_SECRET")
			}
			if _, err := token(cmd.Context(), cfg); err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(a.configPath), 0o700); err != nil {
				return err
			}
			raw, _ := yaml.Marshal(cfg)
			if err := os.WriteFile(a.configPath, raw, 0o600); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "logged in to %s as %s (tenant %s)\n", cfg.URL, cfg.ClientID, cfg.Tenant)
			return nil
		},
	}
	cmd.Flags().StringVar(&cfg.URL, "url", "http://127.0.0.1:8080", "the platform's gateway URL")
	cmd.Flags().StringVar(&cfg.Tenant, "login-tenant", "system", "the tenant the client belongs to")
	cmd.Flags().StringVar(&cfg.ClientID, "client-id", "", "client id")
	cmd.Flags().StringVar(&cfg.ClientSecret, "client-secret", "", "client secret (or IAMCTL_CLIENT_SECRET)")
	_ = cmd.MarkFlagRequired("client-id")
	return cmd
}

func (a *app) loadConfig() (*config, error) {
	raw, err := os.ReadFile(a.configPath)
	if err != nil {
		return nil, fail("not logged in (%v): run iamctl login", err)
	}
	var cfg config
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		return nil, fail("config %s: %v", a.configPath, err)
	}
	if s := a.getenv("IAMCTL_CLIENT_SECRET"); s != "" {
		cfg.ClientSecret = s
	}
	return &cfg, nil
}

// token gets an access token with the client credentials.
func token(ctx context.Context, cfg config) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(cfg.URL, "/")+"/v1/tenants/"+cfg.Tenant+"/oauth2/token",
		strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(cfg.ClientID), url.QueryEscape(cfg.ClientSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if body.AccessToken == "" {
		return "", fmt.Errorf("login failed: %d %s", resp.StatusCode, body.Error)
	}
	return body.AccessToken, nil
}

// bearer is a request editor for the generated clients.
func bearer(tok string) func(context.Context, *http.Request) error {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+tok)
		return nil
	}
}
