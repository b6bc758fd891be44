package main

import (
	"context"
	"errors"
	"io"
)

// These subcommands are filled in by the collector and indexer work.
var errNotYet = errors.New("not implemented yet")

func runIndex(context.Context, []string, io.Writer, io.Writer) error     { return errNotYet }
func runSetup(context.Context, []string, io.Writer, io.Writer) error     { return errNotYet }
func runCheck(context.Context, []string, io.Writer, io.Writer) error     { return errNotYet }
