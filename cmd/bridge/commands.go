package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/kelseyhightower/envconfig"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/config"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/phone"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/queue"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/ruletest"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/store"
)

// rulesCommand is `bridge rules check [FILE...]`: validate without starting
// anything, like amtool check-config; and `bridge rules test FILE...`: rule
// unit tests, like promtool test rules.
func rulesCommand(args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) > 1 && args[0] == "test" {
		// Exit 1 when a test fails, 2 when a test file is malformed.
		failed, err := ruletest.Run(args[1:], loadRules, stdout)
		if err != nil {
			return &exitError{2, err}
		} else if failed > 0 {
			return &exitError{1, errors.New("rule tests failed")}
		}
		return nil
	}
	if len(args) == 0 || args[0] != "check" {
		return &exitError{2, errors.New("usage: bridge rules check [FILE...] | bridge rules test FILE...")}
	}
	files := args[1:]
	if len(files) == 0 {
		file := getenv(config.Prefix + "_RULES_FILE")
		if file == "" {
			file = "rules.yaml"
		}
		files = []string{file}
	}
	// Every file is checked and reported, so one run shows every problem.
	var failed []error
	for _, file := range files {
		if err := checkRules(file, stdout); err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) > 0 {
		// Every problem, one per line, FILE:LINE: rule NAME: what is wrong.
		return &exitError{1, errors.Join(failed...)}
	}
	return nil
}

// checkRules loads one rules file and prints a summary of it.
func checkRules(file string, stdout io.Writer) error {
	set, err := loadRules(file)
	if err != nil {
		return err
	}
	channels := map[string]int{}
	for _, r := range set.Rules {
		switch {
		case r.SMS != nil:
			channels["sms"]++
		case r.WhatsApp != nil && r.WhatsApp.Template != nil:
			channels["whatsapp template"]++
		default:
			channels["whatsapp text"]++
		}
	}
	var parts []string
	for _, ch := range []string{"sms", "whatsapp template", "whatsapp text"} {
		if n := channels[ch]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, ch))
		}
	}
	noun := "rules"
	if len(set.Rules) == 1 {
		noun = "rule"
	}
	// Warnings do not fail the check: the file loads as written.
	for _, w := range set.WarningLines() {
		if _, err := fmt.Fprintln(stdout, w); err != nil {
			return err
		}
	}
	if len(set.Rules) == 0 { // loads, but every webhook will answer no_match
		_, err = fmt.Fprintf(stdout, "%s: OK, no rules: every webhook will be answered no_match and nothing sent\n", file)
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s: OK, %d %s (%s)\n", file, len(set.Rules), noun, strings.Join(parts, ", "))
	return err
}

// deliveriesCommand lists, replays and deletes deliveries straight from Redis, for an
// operator with a shell and no admin token.
func deliveriesCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	// Only the store is needed: an operator's shell need not hold the
	// bridge's inbound secrets to list what is parked.
	redisURL, name := strings.TrimSpace(getenv(config.Prefix+"_REDIS_URL")), strings.TrimSpace(getenv(config.Prefix+"_QUEUE"))
	if redisURL == "" {
		return errors.New("BRIDGE_REDIS_URL is not set: the embedded store lives inside the running bridge; use GET /deliveries there")
	}
	if name == "" {
		name = "bridge"
	}
	if !config.ValidQueue(name) {
		return fmt.Errorf("BRIDGE_QUEUE=%q is not valid: use 1 to 64 letters, digits, - and _", name)
	}
	st, err := store.Open(ctx, redisURL)
	if err != nil {
		return err
	}
	defer st.Close()
	q := queue.New(st.Client, name, time.Now)

	switch {
	case (len(args) == 1 || len(args) == 2) && args[0] == "list":
		state := queue.Parked
		if len(args) > 1 {
			state = queue.State(args[1])
		}
		if !slices.Contains(queue.States, state) {
			return &exitError{2, fmt.Errorf("unknown state %q: use one of %s", state, joinStates())}
		}
		infos, err := q.List(ctx, state, 1000)
		if err != nil {
			return err
		}
		if len(infos) == 0 {
			// Say where it looked: a wrong BRIDGE_QUEUE also lists nothing.
			_, err := fmt.Fprintf(stdout, "no %s deliveries in queue %q\n", state, name)
			return err
		}
		// The last column is what matters in that state: when it was
		// parked, when it runs next, or when it was accepted.
		when, whenOf := "ACCEPTED AT", func(in queue.Info) time.Time { return in.AcceptedAt }
		switch state {
		case queue.Parked:
			when, whenOf = "PARKED AT", func(in queue.Info) time.Time { return in.ParkedAt }
		case queue.Retrying:
			when, whenOf = "NEXT ATTEMPT AT", func(in queue.Info) time.Time { return in.NextAttemptAt }
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tRULE\tTICKET\tCHANNEL\tTO\tATTEMPTS\tSTATUS\tCODE\tMESSAGE\tUMID\t"+when)
		for _, in := range infos {
			at := ""
			if t := whenOf(in); !t.IsZero() {
				at = t.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", cell(in.ID), cell(in.Rule), cell(in.Ticket), cell(string(in.Message.Channel)),
				cell(phone.Mask(in.Message.To)), in.Last.Attempts, orDash(in.Last.Status), orDash(in.Last.Code), cell(in.Last.Message), cell(in.Last.UMID), at)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		// A cut listing says so: the operator would otherwise take it for all.
		if depth, err := q.Depth(ctx); err == nil && depth[state] > len(infos) {
			which := "first"
			if state == queue.Parked {
				which = "newest"
			}
			_, err = fmt.Fprintf(stdout, "showing the %s %d of %d %s deliveries\n", which, len(infos), depth[state], state)
			return err
		}
		return nil
	case len(args) >= 2 && args[0] == "replay" && strings.HasPrefix(args[1], "-"):
		return replayParked(ctx, q, name, args[1:], stdout)
	case len(args) == 2 && args[0] == "replay":
		if err := q.Replay(ctx, args[1]); err != nil {
			return deliveryError(args[1], name, err)
		}
		_, err := fmt.Fprintf(stdout, "%s queued again\n", args[1])
		return err
	case len(args) == 2 && args[0] == "delete":
		if err := q.Delete(ctx, args[1]); err != nil {
			return deliveryError(args[1], name, err)
		}
		_, err := fmt.Fprintf(stdout, "%s deleted; its fire-once key can fire again\n", args[1])
		return err
	default:
		return &exitError{2, errors.New(deliveriesUsage)}
	}
}

const deliveriesUsage = "usage: bridge deliveries list [STATE] | bridge deliveries replay ID | " +
	"bridge deliveries replay [--status N] [--code N] [--rule NAME] [--all] [--limit N] | bridge deliveries delete ID"

// replayParked is the bulk replay: every parked delivery the flags match.
func replayParked(ctx context.Context, q *queue.Queue, queueName string, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("deliveries replay", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var f queue.Filter
	fs.IntVar(&f.Status, "status", 0, "8x8's HTTP status of the last attempt (401)")
	fs.IntVar(&f.Code, "code", 0, "8x8's error code of the last attempt (1200)")
	fs.StringVar(&f.Rule, "rule", "", "the rule's name")
	all := fs.Bool("all", false, "every parked delivery")
	limit := fs.Int("limit", 1000, "at most this many")
	if err := fs.Parse(args); err != nil {
		return &exitError{2, fmt.Errorf("%v; %s", err, deliveriesUsage)}
	}
	switch {
	case fs.NArg() > 0:
		return &exitError{2, fmt.Errorf("unexpected %q; %s", fs.Arg(0), deliveriesUsage)}
	case f.Status < 0 || f.Code < 0:
		return &exitError{2, errors.New("--status and --code are 8x8's numbers as listed (401, 1200): not negative")}
	case f == (queue.Filter{}) && !*all:
		return &exitError{2, errors.New("say which parked deliveries to replay: --status 401, --code 1200 and/or --rule NAME, or --all for every one")}
	case *limit < 1 || *limit > queue.MaxBulk:
		return &exitError{2, fmt.Errorf("--limit must be from 1 to %d", queue.MaxBulk)}
	}
	b, err := q.ReplayParked(ctx, f, *limit)
	for _, id := range b.Replayed {
		if _, werr := fmt.Fprintf(stdout, "%s queued again\n", id); werr != nil {
			return werr
		}
	}
	if err != nil {
		return fmt.Errorf("queue %q: stopped after %d: %w", queueName, len(b.Replayed), err)
	}
	_, err = fmt.Fprintf(stdout, "%d parked deliveries matched in queue %q, %d queued again, %d no longer parked\n", b.Matched, queueName, len(b.Replayed), b.Skipped)
	if err == nil && b.More {
		_, err = fmt.Fprintln(stdout, "more parked deliveries match: run it again for them")
	}
	if err == nil && b.Matched == 0 && f.Rule != "" && f.Status == 0 && f.Code == 0 {
		_, err = fmt.Fprintf(stdout, "no parked delivery of rule %q matched: check its spelling in `bridge deliveries list`\n", cell(f.Rule))
	}
	return err
}

// cell is s fit for one cell of a terminal table: the ticket id and 8x8's
// message come from outside, and a control character (an escape sequence,
// a newline, a tab) or a bidi override would redraw the operator's
// terminal or forge a row. Each becomes "?".
func cell(s string) string {
	return strings.Map(func(r rune) rune {
		if r != ' ' && !unicode.IsGraphic(r) {
			return '?'
		}
		return r
	}, s)
}

// deliveryError names the delivery and the queue in what went wrong.
func deliveryError(id, queueName string, err error) error {
	if errors.Is(err, queue.ErrNotFound) {
		return fmt.Errorf("no delivery %q in queue %q (check BRIDGE_QUEUE)", id, queueName)
	}
	return fmt.Errorf("delivery %q: %w", id, err)
}

func joinStates() string {
	names := make([]string, len(queue.States))
	for i, s := range queue.States {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// healthcheck is the container's health check: the image has no shell or
// curl, so the binary asks itself.
func healthcheck(ctx context.Context, getenv func(string) string) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return fmt.Errorf("BRIDGE_ADDR=%q: %v", cfg.Addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: /healthz answered %d", resp.StatusCode)
	}
	return nil
}

func printConfig(stdout io.Writer) error {
	var c config.Config
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tDEFAULT\tMEANING")
	if err := envconfig.Usagef(config.Prefix, &c, tw, "{{range .}}{{usage_key .}}\t{{usage_default .}}\t{{usage_description .}}\n{{end}}"); err != nil {
		return err
	}
	return tw.Flush()
}

// orDash shows a status or code, or "-" when there was none (0).
func orDash(n int) string {
	if n == 0 {
		return "-"
	}
	return strconv.Itoa(n)
}
