package faults

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/iamplane/iam/pkg/events"
)

// deadLetters fails the scenario if any event was dead-lettered: in these scenarios every
// event is valid, and a failure of a consumer's own dependencies is never a poison event.
func deadLetters(ctx context.Context, p *Platform, r *Result) error {
	js, err := jetstream.New(p.NC)
	if err != nil {
		return err
	}
	st, err := js.Stream(ctx, events.DeadLetterStream)
	if err != nil {
		return fmt.Errorf("dead-letter stream: %w", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return err
	}
	if n := info.State.Msgs; n > 0 {
		return fmt.Errorf("%d events were dead-lettered (stream %s)", n, events.DeadLetterStream)
	}
	return nil
}
