// Command iam-events is the example consumer for teams building on the platform's events
// (openapi/asyncapi.yaml): it attaches a durable pull consumer to the IAM stream, prints
// every event as it arrives and acknowledges it after printing. Run it twice with the same
// -durable and the second run continues where the first stopped; a new -durable replays
// the compact stream from the start, i.e. the current state of every entity.
//
// It needs only the reader's NATS credentials (user "reader": durable consumers and acks,
// no publishing), given in the URL:
//
//	go run ./tools/cmd/iam-events -nats nats://reader:PASSWORD@127.0.0.1:4222 -filter 'iam.acme.subjects.>'
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/iamplane/iam/pkg/events"
)

func main() {
	natsURL := flag.String("nats", "nats://127.0.0.1:4222", "NATS server, with the reader's credentials: nats://reader:PASSWORD@host:4222")
	durable := flag.String("durable", "iam-events-example", "durable consumer name (one per consuming service)")
	filter := flag.String("filter", "iam.>", "subject filter, e.g. iam.*.subjects.membership.*")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *natsURL, *durable, *filter, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "iam-events:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, natsURL, durable, filter string, out io.Writer) error {
	nc, err := nats.Connect(natsURL)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, events.StreamName, jetstream.ConsumerConfig{
		Durable:        durable,
		FilterSubjects: []string{filter},
		AckPolicy:      jetstream.AckExplicitPolicy,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckWait:        30 * time.Second,
		MaxDeliver:     5,
	})
	if err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	it, err := cons.Messages()
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		ev, err := events.Parse(msg.Subject(), msg.Data())
		if err != nil {
			// Not a platform event (or a forged tenant): never apply it.
			fmt.Fprintf(out, "rejected %s: %v\n", msg.Subject(), err)
			_ = msg.Term()
			continue
		}
		verb := "changed"
		if ev.Deleted {
			verb = "deleted"
		}
		fmt.Fprintf(out, "%s %s v%d %s %s\n", ev.Time.Format(time.RFC3339), ev.Subject, ev.EntityVersion, verb, ev.Data)
		if err := msg.Ack(); err != nil {
			return err
		}
	}
}
