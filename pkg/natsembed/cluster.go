package natsembed

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// clusterReadyTimeout bounds how long a cluster takes to elect its JetStream meta leader.
const clusterReadyTimeout = 30 * time.Second

// ClusterOptions configures StartCluster.
type ClusterOptions struct {
	// Dir holds one JetStream store per node (node-0, node-1, ...). Required.
	Dir string
	// Nodes is the cluster's size; default 3 (what production runs).
	Nodes int
}

// Cluster is a JetStream cluster of embedded servers with routes between them, each node
// on free ports of its own, with its own store, stoppable and restartable one at a time,
// as a real node crash and recovery look to clients and to the other nodes. Production
// settings apply: file storage synced on every write (sync_interval: always).
type Cluster struct {
	nodes []*clusterNode
}

type clusterNode struct {
	name       string
	storeDir   string
	clientPort int
	routePort  int
	routes     string // every node's route URL, this one's included (the server skips itself)

	mu  sync.Mutex
	srv *server.Server // nil while stopped
}

// StartCluster starts every node and returns once the cluster has a JetStream meta leader.
func StartCluster(opts ClusterOptions) (*Cluster, error) {
	if opts.Dir == "" {
		return nil, errors.New("natsembed: ClusterOptions.Dir is required")
	}
	n := opts.Nodes
	if n == 0 {
		n = 3
	}
	c := &Cluster{}
	var routes []string
	for i := range n {
		clientPort, err := clusterFreePort()
		if err != nil {
			return nil, err
		}
		routePort, err := clusterFreePort()
		if err != nil {
			return nil, err
		}
		c.nodes = append(c.nodes, &clusterNode{name: fmt.Sprintf("node-%d", i), clientPort: clientPort, routePort: routePort,
			storeDir: filepath.Join(opts.Dir, fmt.Sprintf("node-%d", i))})
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", routePort))
	}
	// Nodes start concurrently: each waits for routes to the others before it is ready.
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, node := range c.nodes {
		node.routes = strings.Join(routes, ",")
		wg.Go(func() { errs[i] = node.start() })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		c.Stop()
		return nil, err
	}
	if err := c.waitMetaLeader(); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func clusterFreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("natsembed: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (n *clusterNode) start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv != nil {
		return nil
	}
	srv, err := server.NewServer(&server.Options{
		ServerName: n.name,
		Host:       "127.0.0.1",
		Port:       n.clientPort,
		JetStream:  true,
		StoreDir:   n.storeDir,
		SyncAlways: true,
		Cluster:    server.ClusterOpts{Name: "iam", Host: "127.0.0.1", Port: n.routePort},
		Routes:     server.RoutesFromStr(n.routes),
		NoSigs:     true,
		NoLog:      true,
	})
	if err != nil {
		return fmt.Errorf("natsembed: configure %s: %w", n.name, err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(readyTimeout) {
		srv.Shutdown()
		return fmt.Errorf("natsembed: %s on port %d not ready within %s (port taken?)", n.name, n.clientPort, readyTimeout)
	}
	n.srv = srv
	return nil
}

func (n *clusterNode) stop() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv == nil {
		return
	}
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
	n.srv = nil
}

// waitMetaLeader waits until a running node knows the cluster's JetStream meta leader.
func (c *Cluster) waitMetaLeader() error {
	deadline := time.Now().Add(clusterReadyTimeout)
	for time.Now().Before(deadline) {
		for _, n := range c.nodes {
			n.mu.Lock()
			ok := n.srv != nil && n.srv.JetStreamIsClustered() && n.srv.JetStreamIsCurrent()
			n.mu.Unlock()
			if ok {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("natsembed: no JetStream meta leader within %s", clusterReadyTimeout)
}

// URL is the client URL list of every node, as nats.Connect takes it: clients fail over
// between the nodes.
func (c *Cluster) URL() string {
	urls := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		urls[i] = n.url()
	}
	return strings.Join(urls, ",")
}

func (n *clusterNode) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.clientPort) }

// NodeURL is the client URL of node i alone.
func (c *Cluster) NodeURL(i int) string { return c.nodes[i].url() }

// Nodes is the cluster's size.
func (c *Cluster) Nodes() int { return len(c.nodes) }

// StopNode shuts node i down, as a crash looks to its peers and clients; its store stays.
func (c *Cluster) StopNode(i int) { c.nodes[i].stop() }

// RestartNode starts node i again on its ports and store (a running node is left alone)
// and waits until the cluster has a meta leader again.
func (c *Cluster) RestartNode(i int) error {
	if err := c.nodes[i].start(); err != nil {
		return err
	}
	return c.waitMetaLeader()
}

// Stop shuts every node down.
func (c *Cluster) Stop() {
	for _, n := range c.nodes {
		n.stop()
	}
}
