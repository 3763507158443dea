package faults

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/iamplane/iam/pkg/events"
)

// Replicas (8): two replicas of every service against one PostgreSQL and a three-node
// JetStream cluster (streams with three replicas, NATS_STREAM_REPLICAS=3). During the
// load, the node leading the event stream and one replica of each service are killed;
// the surviving replicas carry on (the durable consumers are shared; what the killed ones
// held unacknowledged is redelivered after AckWait); after the outage both come back.
func Replicas(ctx context.Context, s *Suite, r *Result) error {
	p, err := s.platform(ctx, r, Options{Replicas: 2, NATSCluster: true})
	if err != nil {
		return err
	}
	defer p.Close()
	w, err := NewWorkload(ctx, p, workers, s.Seed)
	if err != nil {
		return err
	}
	lead := 5 * time.Second
	wait := background(ctx, w, s.writes(1500), lead+s.Outage)
	sleep(ctx, lead)
	node, err := streamLeader(ctx, p)
	if err != nil {
		wait()
		return err
	}
	p.Cluster.StopNode(node)
	for _, svc := range Services {
		p.Kill(svc, 0)
	}
	s.logf("   NATS node-%d (the stream's leader) and replica 0 of every service killed", node)
	sleep(ctx, s.Outage)
	if err := p.Cluster.RestartNode(node); err != nil {
		wait()
		return err
	}
	for _, svc := range Services {
		if err := p.StartService(ctx, svc, 0); err != nil {
			wait()
			return err
		}
	}
	faultEnd := time.Now()
	wait()
	if err := s.finish(ctx, p, w, r, faultEnd); err != nil {
		return err
	}
	return deadLetters(ctx, p, r)
}

// streamLeader is the index of the cluster node leading the event stream.
func streamLeader(ctx context.Context, p *Platform) (int, error) {
	js, err := jetstream.New(p.NC)
	if err != nil {
		return 0, err
	}
	st, err := js.Stream(ctx, events.StreamName)
	if err != nil {
		return 0, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, err
	}
	if info.Cluster == nil || info.Config.Replicas != 3 {
		return 0, fmt.Errorf("stream %s is not replicated three times: %+v", events.StreamName, info.Config.Replicas)
	}
	return strconv.Atoi(strings.TrimPrefix(info.Cluster.Leader, "node-"))
}
