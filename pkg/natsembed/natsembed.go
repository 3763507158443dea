// Package natsembed runs a NATS server with JetStream inside the current process, for
// `make dev` and tests, so neither needs a NATS installation or the system's port 4222.
// It knows the same users and permissions as production (events.NATSUsers): each service
// may publish only on its own subjects, the reader on none.
package natsembed

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/iamplane/iam/pkg/events"
)

const readyTimeout = 10 * time.Second

// Options configures Start.
type Options struct {
	// StoreDir holds JetStream's file store. Required: JetStream's default is a directory
	// under the system temp dir shared by every server on the machine.
	StoreDir string
	// Port on 127.0.0.1; 0 picks a free one. Free ports come from the kernel's ephemeral
	// range, so never NATS's well-known 4222.
	Port int
	// Passwords by user (events.NATSUsers: admin, the services, reader); a user not given
	// gets a random one per Start.
	Passwords map[string]string
}

// Server is an embedded NATS server that can be stopped and started again, as clients
// see a real outage and recovery.
type Server struct {
	storeDir  string
	port      int               // the port of the first start, reused by Restart
	passwords map[string]string // by user, kept across Restart

	mu  sync.Mutex
	srv *server.Server // nil while stopped
}

// Start starts a server and returns once it accepts connections.
func Start(opts Options) (*Server, error) {
	if opts.StoreDir == "" {
		return nil, errors.New("natsembed: Options.StoreDir is required")
	}
	port := opts.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	passwords := map[string]string{}
	for _, u := range events.NATSUsers() {
		if p, ok := opts.Passwords[u.Name]; ok && p != "" {
			passwords[u.Name] = p
			continue
		}
		b := make([]byte, 16)
		_, _ = rand.Read(b) // never fails
		passwords[u.Name] = hex.EncodeToString(b)
	}
	srv, err := start(port, opts.StoreDir, passwords)
	if err != nil {
		return nil, err
	}
	// Pin the port the kernel chose: Restart must come back where clients, and their
	// reconnect logic, expect the server.
	port = srv.Addr().(*net.TCPAddr).Port
	return &Server{storeDir: opts.StoreDir, port: port, passwords: passwords, srv: srv}, nil
}

// users are events.NATSUsers with their passwords, as nats-server takes them.
func users(passwords map[string]string) []*server.User {
	var out []*server.User
	for _, u := range events.NATSUsers() {
		su := &server.User{Username: u.Name, Password: passwords[u.Name]}
		if u.Publish != nil {
			su.Permissions = &server.Permissions{Publish: &server.SubjectPermission{Allow: u.Publish}}
			if u.Respond {
				su.Permissions.Response = &server.ResponsePermission{MaxMsgs: 1, Expires: time.Minute}
			}
		}
		out = append(out, su)
	}
	return out
}

func start(port int, storeDir string, passwords map[string]string) (*server.Server, error) {
	srv, err := server.NewServer(&server.Options{
		Host:      "127.0.0.1",
		Port:      port,
		JetStream: true,
		StoreDir:  storeDir,
		Users:     users(passwords),
		NoSigs:    true, // signals belong to the host process
		NoLog:     true,
	})
	if err != nil {
		return nil, fmt.Errorf("natsembed: configure server: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(readyTimeout) {
		srv.Shutdown()
		return nil, fmt.Errorf("natsembed: server on port %d not ready within %s (port taken?)", port, readyTimeout)
	}
	return srv, nil
}

// URL is the client URL of the server with the admin's credentials (every right: for
// test harnesses and tools); it stays the same across Restart.
func (s *Server) URL() string {
	return s.URLFor(events.AdminUser)
}

// URLFor is the client URL with user's credentials: a service's name (its own subjects
// only, see events.ServicePublish), events.ReaderUser or events.AdminUser. nats.go takes
// the credentials from the URL, so a service needs nothing but NATS_URL. It panics for a
// user the server does not know.
func (s *Server) URLFor(user string) string {
	p, ok := s.passwords[user]
	if !ok {
		panic(fmt.Sprintf("natsembed: no NATS user %q", user))
	}
	u := url.URL{Scheme: "nats", User: url.UserPassword(user, p), Host: fmt.Sprintf("127.0.0.1:%d", s.port)}
	return u.String()
}

// Stop shuts the server down and waits until it has. Stopping a stopped server is a no-op.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

func (s *Server) stopLocked() {
	if s.srv == nil {
		return
	}
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
	s.srv = nil
}

// Restart stops the server if it is running and starts it again on the same port and
// store, so streams and their messages are back.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
	srv, err := start(s.port, s.storeDir, s.passwords)
	if err != nil {
		return fmt.Errorf("natsembed: restart: %w", err)
	}
	s.srv = srv
	return nil
}
