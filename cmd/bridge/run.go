package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// version is stamped at build time: -ldflags "-X main.version=…".
var version = "dev"

// exitError carries an exit code other than 1 (a failed check, say).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

// errorText is what main prints: a command's own report (rules check's
// FILE:LINE lines) as it is, anything else after "bridge: ".
func errorText(err error) string {
	var ee *exitError
	if errors.As(err, &ee) {
		return err.Error()
	}
	return "bridge: " + err.Error()
}

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

const usage = `bridge: Zendesk → 8x8 notification bridge

Usage:
  bridge [serve]                 run the bridge (configuration from BRIDGE_* variables)
  bridge rules check [FILE...]   validate rules files (default: BRIDGE_RULES_FILE or rules.yaml)
  bridge rules test FILE...      run rule unit tests (see examples/rules_test.yaml)
  bridge deliveries list [STATE] list deliveries (parked by default; queued, active, retrying, sent)
  bridge deliveries replay ID    queue a parked delivery again
  bridge deliveries replay --status N [--code N] [--rule NAME] [--all] [--limit N]
                                 queue again every parked delivery that matches
  bridge deliveries delete ID    drop a parked delivery (its key can fire again)
  bridge healthcheck             exit 0 when the local bridge answers /healthz (for containers)
  bridge config                  list every BRIDGE_* variable with its default
  bridge version                 print the version
`

// run is the whole program; main only calls it, so tests can start the real
// bridge with their own arguments, environment and output.
func run(ctx context.Context, args []string, getenv func(string) string, environ []string, stdout, stderr io.Writer) error {
	cmd := ""
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "", "serve":
		return serve(ctx, getenv, environ, stdout)
	case "rules":
		return rulesCommand(args[1:], getenv, stdout)
	case "deliveries":
		return deliveriesCommand(ctx, args[1:], getenv, stdout)
	case "healthcheck":
		return healthcheck(ctx, getenv)
	case "config":
		return printConfig(stdout)
	case "version":
		_, err := fmt.Fprintln(stdout, "bridge", version)
		return err
	case "help", "-h", "--help":
		_, err := io.WriteString(stdout, usage)
		return err
	default:
		return &exitError{2, fmt.Errorf("unknown command %q\n\n%s", strings.Join(args, " "), usage)}
	}
}
