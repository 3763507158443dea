package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Redrive re-drives dead letters of consumer (all consumers if ""): it asks each
// dead-lettered entity's source to resend the entity's current state, which flows to
// every view through the stream like any change, and removes the dead letters so
// resent. The old event itself is never published again: the stream keeps one message
// per entity, and a stale copy must not become its "current state".
//
// Run it once the cause is fixed (a bug deployed away, a view's data repaired); an
// event that still cannot be applied is dead-lettered again, with its reason.
func Redrive(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, consumer string) (int, error) {
	stream, err := js.Stream(ctx, DeadLetterStream)
	if err != nil {
		return 0, fmt.Errorf("dead-letter stream: %w", err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return 0, err
	}
	if info.State.Msgs == 0 {
		return 0, nil
	}
	filter := deadLetterPrefix + ".>"
	if consumer != "" {
		filter = deadLetterPrefix + "." + consumer + ".>"
	}
	reader, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		return 0, err
	}
	// What to resend, by source area and tenant; the dead letters' sequences to remove.
	type key struct{ area, tenant string }
	subjects := map[key][]string{}
	seqs := map[key][]uint64{}
	for done := false; !done; {
		batch, err := reader.FetchNoWait(256)
		if err != nil {
			return 0, err
		}
		got := 0
		for msg := range batch.Messages() {
			got++
			meta, err := msg.Metadata()
			if err != nil {
				return 0, err
			}
			// iamdlq.<consumer>.iam.<tenant>.<area>.<kind>.<id>
			parts := strings.SplitN(msg.Subject(), ".", 3)
			if tokens := strings.Split(parts[len(parts)-1], "."); len(parts) == 3 && len(tokens) == 5 && tokens[0] == "iam" {
				k := key{area: tokens[2], tenant: tokens[1]}
				subjects[k] = append(subjects[k], parts[2])
				seqs[k] = append(seqs[k], meta.Sequence.Stream)
			}
			done = done || meta.Sequence.Stream >= info.State.LastSeq // all that was there when we began
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return 0, err
		}
		done = done || got == 0
	}
	redriven := 0
	for k, subs := range subjects {
		subs = slices.Compact(slices.Sorted(slices.Values(subs)))
		for chunk := range slices.Chunk(subs, 500) {
			raw, _ := json.Marshal(SyncRequest{Tenant: k.tenant, Subjects: chunk})
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			msg, err := nc.RequestWithContext(rctx, syncPrefix+"."+k.area+".resend", raw)
			cancel()
			if err != nil {
				return redriven, fmt.Errorf("ask the %s source to resend: %w", k.area, err)
			}
			var reply SyncReply
			if err := json.Unmarshal(msg.Data, &reply); err != nil || reply.Error != "" {
				return redriven, fmt.Errorf("the %s source refused to resend: %v%s", k.area, err, reply.Error)
			}
		}
		for _, seq := range seqs[k] {
			if err := stream.DeleteMsg(ctx, seq); err != nil {
				return redriven, fmt.Errorf("remove re-driven dead letter %d: %w", seq, err)
			}
			redriven++
		}
	}
	return redriven, nil
}
