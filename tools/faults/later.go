package faults

import (
	"context"
	"errors"
)

func Replicas(ctx context.Context, s *Suite, r *Result) error  { return errors.New("not yet") }
