package faults

import (
	"context"
	"errors"
)

func Redelivery(ctx context.Context, s *Suite, r *Result) error { return errors.New("not yet") }
func Republish(ctx context.Context, s *Suite, r *Result) error  { return errors.New("not yet") }
func Restore(ctx context.Context, s *Suite, r *Result) error    { return errors.New("not yet") }
func Replicas(ctx context.Context, s *Suite, r *Result) error   { return errors.New("not yet") }
