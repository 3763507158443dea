// Package natsembed runs a NATS server with JetStream inside the current process, for
// `make dev` and tests, so neither needs a NATS installation or the system's port 4222.
package natsembed

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
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
}

// Server is an embedded NATS server that can be stopped and started again, as clients
// see a real outage and recovery.
type Server struct {
	storeDir string
	port     int // the port of the first start, reused by Restart

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
	srv, err := start(port, opts.StoreDir)
	if err != nil {
		return nil, err
	}
	// Pin the port the kernel chose: Restart must come back where clients, and their
	// reconnect logic, expect the server.
	port = srv.Addr().(*net.TCPAddr).Port
	return &Server{storeDir: opts.StoreDir, port: port, srv: srv}, nil
}

func start(port int, storeDir string) (*server.Server, error) {
	srv, err := server.NewServer(&server.Options{
		Host:      "127.0.0.1",
		Port:      port,
		JetStream: true,
		StoreDir:  storeDir,
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

// URL is the client URL of the server; it stays the same across Restart.
func (s *Server) URL() string {
	return fmt.Sprintf("nats://127.0.0.1:%d", s.port)
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
	srv, err := start(s.port, s.storeDir)
	if err != nil {
		return fmt.Errorf("natsembed: restart: %w", err)
	}
	s.srv = srv
	return nil
}
