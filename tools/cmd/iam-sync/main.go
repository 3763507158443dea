// Command iam-sync is the operator's tool for the views: it makes a service compare each
// of its views with their sources now and repair what differs (the same pass its
// reconciler runs every IAM_RECONCILE_INTERVAL), and re-drives dead letters once their
// cause is fixed. It talks to the services over NATS only.
//
//	go run ./tools/cmd/iam-sync reconcile --nats nats://127.0.0.1:4222 iam-policies
//	go run ./tools/cmd/iam-sync redrive --nats nats://127.0.0.1:4222 [--consumer iam-policies-subjects]
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/iamplane/iam/pkg/events"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := command().ExecuteContext(ctx); err != nil {
		os.Exit(1)
	}
}

func command() *cobra.Command {
	var natsURL string
	root := &cobra.Command{Use: "iam-sync", Short: "Reconcile views with their sources and re-drive dead letters", SilenceUsage: true}
	root.PersistentFlags().StringVar(&natsURL, "nats", "nats://127.0.0.1:4222", "NATS server (with credentials allowed to send iamsync requests)")

	var dryRun bool
	reconcile := &cobra.Command{
		Use:   "reconcile SERVICE",
		Short: "Compare every view of SERVICE with its sources now and have what differs resent",
		Long: "Runs one reconciliation pass in a replica of SERVICE (iam-subjects, iam-policies, oauth-clients or consent)\n" +
			"and prints its report. This is also how a view is rebuilt after a restore or a bug: whatever the view\n" +
			"lacks, holds in excess or holds stale is resent by its source.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withNATS(natsURL, func(nc *nats.Conn, _ jetstream.JetStream) error {
				return reconcileNow(cmd.Context(), nc, args[0], dryRun, cmd.OutOrStdout())
			})
		},
	}
	reconcile.Flags().BoolVar(&dryRun, "dry-run", false, "compare only: report the tenant views that differ, resend nothing")
	var consumer string
	redrive := &cobra.Command{
		Use:   "redrive",
		Short: "Have the sources resend every dead-lettered entity, then remove the dead letters",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withNATS(natsURL, func(nc *nats.Conn, js jetstream.JetStream) error {
				n, err := events.Redrive(cmd.Context(), nc, js, consumer)
				fmt.Fprintf(cmd.OutOrStdout(), "re-drove %d dead letters\n", n)
				return err
			})
		},
	}
	redrive.Flags().StringVar(&consumer, "consumer", "", "only this consumer's dead letters (e.g. iam-policies-subjects)")
	root.AddCommand(reconcile, redrive)
	return root
}

func withNATS(url string, fn func(*nats.Conn, jetstream.JetStream) error) error {
	nc, err := nats.Connect(url)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	return fn(nc, js)
}

func reconcileNow(ctx context.Context, nc *nats.Conn, service string, dryRun bool, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	req, _ := json.Marshal(map[string]bool{"dryRun": dryRun})
	msg, err := nc.RequestWithContext(ctx, events.ReconcileSubject(service), req)
	if err != nil {
		return fmt.Errorf("no replica of %s answered: %w", service, err)
	}
	var reply struct {
		Report events.ReconcileReport `json:"report"`
		Error  string                 `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &reply); err != nil {
		return err
	}
	r := reply.Report
	fmt.Fprintf(out, "%s: %d tenant views compared, %d differed, %d entities resent\n", service, r.Tenants, r.Differing, r.Resent)
	if reply.Error != "" {
		return fmt.Errorf("%s", reply.Error)
	}
	return nil
}
