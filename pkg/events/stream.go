package events

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

const (
	// StreamName holds every entity event, the last one per subject: a compact log that a
	// new consumer or a rebuilt view replays to reach current state.
	StreamName = "IAM"
	// DeadLetterStream keeps events a consumer could not apply, for an operator to read.
	DeadLetterStream = "IAM_DLQ"
	deadLetterPrefix = "iamdlq"
)

// StreamOptions are the production knobs; tests and the dev stack use the zero value.
type StreamOptions struct {
	Replicas int  // 3 in production
	Memory   bool // file storage unless set
}

// EnsureStreams creates or updates the event and dead-letter streams. Every service calls
// it at start-up, so whichever starts first sets them up.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, opts StreamOptions) error {
	storage := jetstream.FileStorage
	if opts.Memory {
		storage = jetstream.MemoryStorage
	}
	replicas := max(opts.Replicas, 1)
	for _, cfg := range []jetstream.StreamConfig{{
		Name:              StreamName,
		Description:       "IAM entity state-transfer events; the last event per entity subject is kept.",
		Subjects:          []string{"iam.>"},
		Storage:           storage,
		Replicas:          replicas,
		MaxMsgsPerSubject: 1,
		Duplicates:        10 * time.Minute,
		AllowRollup:       false,
	}, {
		Name:        DeadLetterStream,
		Description: "Events a consumer could not apply, with the reason in the Iam-Dead-Letter-Reason header.",
		Subjects:    []string{deadLetterPrefix + ".>"},
		Storage:     storage,
		Replicas:    replicas,
		MaxAge:      30 * 24 * time.Hour,
	}} {
		// A stream already as wanted is left alone: every service calls this at start-up,
		// and an update (even to the same config) racing another service's consumer
		// creation is a data race inside nats-server (fileStore.UpdateConfig against
		// ConsumerStore), which the race detector reports.
		if st, err := js.Stream(ctx, cfg.Name); err == nil && sameStream(st.CachedInfo().Config, cfg) {
			continue
		}
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}

// sameStream reports whether the server's config has everything EnsureStreams sets;
// settings left at zero are the server's defaults and not compared.
func sameStream(have, want jetstream.StreamConfig) bool {
	return slices.Equal(have.Subjects, want.Subjects) && have.Description == want.Description &&
		have.Storage == want.Storage && have.Replicas == want.Replicas && have.AllowRollup == want.AllowRollup &&
		(want.MaxMsgsPerSubject == 0 || have.MaxMsgsPerSubject == want.MaxMsgsPerSubject) &&
		(want.Duplicates == 0 || have.Duplicates == want.Duplicates) && (want.MaxAge == 0 || have.MaxAge == want.MaxAge)
}
