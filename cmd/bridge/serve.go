package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/config"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/metrics"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/phone"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/queue"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/rules"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/sender"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/server"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/store"
)

func newLogger(cfg config.Config, w io.Writer) zerolog.Logger {
	if cfg.LogFormat == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339}
	}
	level, _ := zerolog.ParseLevel(cfg.LogLevel)
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}

// senders returns what sends (the 8x8 client, or the dry run when there is
// no API key) and what shows requests (always the real client, so /test
// shows the exact URL and body in either mode).
func senders(cfg config.Config, log zerolog.Logger) (queue.Sender, *sender.Client, string, error) {
	smsURL, chatURL, err := sender.BaseURLs(cfg.Region)
	if err != nil {
		return nil, nil, "", fmt.Errorf("BRIDGE_8X8_REGION=%q is not valid: %v", cfg.Region, err)
	}
	if cfg.SMSURL != "" {
		smsURL = cfg.SMSURL
	}
	if cfg.ChatAppsURL != "" {
		chatURL = cfg.ChatAppsURL
	}
	for name, u := range map[string]string{"BRIDGE_8X8_SMS_URL": smsURL, "BRIDGE_8X8_CHATAPPS_URL": chatURL} {
		if err := checkURL(u); err != nil {
			return nil, nil, "", fmt.Errorf("%s=%q is not valid: %v", name, sender.Redact(u), err)
		}
	}
	client := sender.NewClient(sender.Options{SMSURL: smsURL, ChatAppsURL: chatURL, APIKey: cfg.APIKey})
	if cfg.DryRun() {
		return sender.NewDryRun(log, 100), client, "dry_run", nil
	}
	return client, client, cfg.Region, nil
}

// serve runs the bridge. environ is the whole environment, read only for
// the names of BRIDGE_ variables the bridge does not know (config.Unknown).
func serve(ctx context.Context, getenv func(string) string, environ []string, stdout io.Writer) error {
	// Catch SIGHUP first: its default action would end a bridge still
	// starting.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stdout)
	warnUnknown(log, config.Unknown(environ))
	if cfg.ShutdownTimeout < sender.DefaultTimeout {
		log.Warn().Dur("shutdown_timeout", cfg.ShutdownTimeout).Dur("request_timeout", sender.DefaultTimeout).
			Msg("BRIDGE_SHUTDOWN_TIMEOUT is shorter than one 8x8 request: a stop can cut an attempt short, and it may be sent again")
	}

	if cfg.RetryMaxAge <= cfg.RetryBase {
		log.Warn().Dur("retry_max_age", cfg.RetryMaxAge).Dur("retry_base", cfg.RetryBase).
			Msg("BRIDGE_RETRY_MAX_AGE is not longer than BRIDGE_RETRY_BASE: a delivery 8x8 cannot take at once is parked rather than retried")
	}

	snd, client, mode, err := senders(cfg, log)
	if err != nil {
		return err
	}
	store.LogRedisTo(log)
	st, err := store.Open(ctx, cfg.RedisURL)
	if err != nil {
		return err
	}
	if err := checkStore(ctx, st, log); err != nil {
		st.Close()
		return err
	}
	// A forced stop (a second signal) leaves the store open: asynq's
	// goroutines are still shutting down with it, and its subscriber
	// dereferences the nil message a closed client's channel yields (a
	// panic, exit status 2). The process is about to exit anyway.
	closeStore := true
	defer func() {
		if closeStore {
			st.Close()
		}
	}()
	q := queue.New(st.Client, cfg.Queue, time.Now)
	met := metrics.New(version, q.Depth)
	rl, err := newReloader(cfg.RulesFile, log, met.Reload)
	if err != nil {
		return err
	}
	var sw *store.Watch
	if st.Durable {
		// A Redis that restarts empty answers as if nothing happened:
		// this is what notices (the embedded store dies with the bridge).
		// Its first look (the marker, and Redis's persistence settings)
		// comes before the bridge listens, so that its startup lines come
		// before "bridge listening".
		sw = store.NewWatch(st.Client, "bridge:"+cfg.Queue+":marker", log, met.StoreReset)
		sw.Check(ctx)
	}
	storeWarnings := func() []string { return nil }
	if sw != nil {
		storeWarnings = sw.Warnings
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	// Watch the rules file before listening: an edit made as soon as the
	// bridge answers must not fall before the watch exists.
	stopWatch := rl.watch(runCtx)
	defer stopWatch()

	worker := queue.NewWorker(queue.WorkerOptions{
		Queue:  q,
		Sender: snd,
		Policy: queue.Policy{
			Base: cfg.RetryBase, MaxDelay: cfg.RetryMaxDelay,
			MaxAttempts: cfg.RetryMaxAttempts, MaxAge: cfg.RetryMaxAge,
		},
		Concurrency:     cfg.Workers,
		RateLimit:       float64(cfg.RateLimit),
		Log:             log,
		Observer:        met,
		Rand:            rand.Float64,
		Now:             time.Now,
		ShutdownTimeout: cfg.ShutdownTimeout,
		Poll:            cfg.QueuePoll,
		Mask:            phone.Mask,
	})

	handler := server.New(server.Options{
		Rules: rl, Queue: q, Sender: snd, Requester: client, Metrics: met, Log: log, Now: time.Now,
		MaxBody: int64(cfg.MaxBody), SigningSecrets: cfg.SigningSecrets(), ZendeskToken: cfg.ZendeskToken,
		MaxSkew: cfg.MaxSkew, AdminToken: cfg.AdminToken, DryRun: cfg.DryRun(), Durable: st.Durable,
		StoreWarnings: storeWarnings,
	})
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("BRIDGE_ADDR=%q: cannot listen: %v", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ErrorLog:          stdlog.New(log.With().Str("component", "http").Logger(), "", 0),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}

	// Written whatever BRIDGE_LOG_LEVEL says: the mode must always be on record.
	ev := log.Log().Str("level", "info").Str("addr", ln.Addr().String()).Str("version", version).
		Bool("durable", st.Durable).Str("sender", mode).Str("sms_url", client.SMSBase()).Str("chatapps_url", client.ChatAppsBase()).
		Str("inbound_auth", inboundAuth(cfg)).
		Bool("admin_routes", cfg.AdminToken != "").Int("rules", len(rl.Current().Rules)).Int("workers", cfg.Workers)
	if st.Durable {
		ev = ev.Str("store", "redis")
	} else {
		ev = ev.Str("store", "embedded").Str("store_warning", "not durable: set BRIDGE_REDIS_URL")
	}
	if cfg.DryRun() {
		ev = ev.Str("sender_note", "no BRIDGE_8X8_API_KEY: dry run, nothing is sent to 8x8")
	}
	ev.Msg("bridge listening")

	workerDone := make(chan error, 1)
	go func() { workerDone <- worker.Run(runCtx) }()
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(ln) }()

	if sw != nil {
		go sw.Run(runCtx, 5*time.Second)
	}

	for {
		select {
		case <-hup:
			rl.reload("SIGHUP")
			continue
		case err := <-serveDone:
			cancel()
			<-workerDone
			return fmt.Errorf("http server: %w", err)
		case <-ctx.Done():
		}
		break
	}

	// A second SIGTERM or Ctrl-C stops at once; what is unsent stays queued.
	// Caught before the line below is logged: a signal sent on reading it
	// must not fall between main's handler and this one.
	force := make(chan os.Signal, 1)
	signal.Notify(force, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(force)
	log.Info().Dur("timeout", cfg.ShutdownTimeout).Msg("shutting down: no new requests, finishing in-flight ones")
	// The HTTP server and the worker drain side by side under one timeout
	// (asynq's ShutdownTimeout is the same), so the whole stop fits the
	// platform's kill timeout.
	sctx, scancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer scancel()
	cancel() // the worker stops taking deliveries and finishes in-flight attempts; the rest stays queued
	stopped := make(chan error, 1)
	go func() {
		err := srv.Shutdown(sctx)
		<-workerDone
		stopped <- err
	}()
	select {
	case shutdownErr := <-stopped:
		if shutdownErr != nil && !errors.Is(shutdownErr, http.ErrServerClosed) {
			log.Warn().Err(shutdownErr).Msg("some requests did not finish in time")
		}
	case <-force:
		log.Warn().Msg("second signal: stopping without waiting; unfinished deliveries stay queued")
		_ = srv.Close()
		closeStore = false
		return errors.New("stopped by a second signal before in-flight work finished")
	}
	log.Info().Msg("bridge stopped")
	return nil
}

func inboundAuth(cfg config.Config) string {
	switch {
	case cfg.SigningSecret != "" && cfg.ZendeskToken != "":
		return "signature+bearer"
	case cfg.SigningSecret != "":
		return "signature"
	case cfg.ZendeskToken != "":
		return "bearer"
	default:
		return "none (dry run only)"
	}
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("want an http:// or https:// base URL")
	}
	// The bridge appends /api/v1/subaccounts/{id}/messages itself; a path of
	// a proxy in front of 8x8 is kept, but a pasted endpoint would double
	// it, and 8x8's 404 would park every delivery.
	if p := strings.TrimSuffix(u.Path, "/"); strings.HasSuffix(p, "/api/v1") || strings.Contains(p, "/api/v1/subaccounts") || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("want the base URL only, like https://sms.8x8.com: the bridge adds /api/v1/subaccounts/{subaccount}/messages itself")
	}
	return nil
}

// warnUnknown logs each misspelt or retired BRIDGE_ variable, by name only,
// with the variable it probably meant: such a setting is otherwise ignored
// without a word, and the bridge runs on the default.
func warnUnknown(log zerolog.Logger, names []string) {
	if len(names) == 0 {
		return
	}
	known := config.Names()
	lower := make([]string, len(known))
	for i, k := range known {
		lower[i] = strings.ToLower(k)
	}
	for _, name := range names {
		ev := log.Warn().Str("variable", name)
		msg := "unknown variable " + name + " is ignored"
		if near, ok := rules.Nearest(name, lower); ok {
			ev = ev.Str("did_you_mean", strings.ToUpper(near))
			msg += "; did you mean " + strings.ToUpper(near) + "?"
		}
		ev.Msg(msg)
	}
}

// checkStore asks the store once at startup. Settings Redis refuses (a
// database it does not have, a wrong password) stop the start: waiting
// would not fix them. An unreachable Redis is only a warning: the bridge
// answers 503 until it is back, and recovers by itself.
func checkStore(ctx context.Context, st *store.Store, log zerolog.Logger) error {
	if !st.Durable {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	err := st.Client.Ping(ctx).Err()
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, refusal := range []string{"DB index is out of range", "NOAUTH", "WRONGPASS", "NOPERM", "invalid password",
		"invalid username-password", "ERR AUTH", "wrong number of arguments for 'auth'", "x509:", "tls:"} {
		if strings.Contains(msg, refusal) {
			return fmt.Errorf("BRIDGE_REDIS_URL: Redis refused the settings in the URL: %s", msg)
		}
	}
	log.Warn().Str("reason", msg).Msg("store unreachable at startup: webhooks answer 503 and /readyz is 503 until Redis answers; the bridge keeps trying")
	return nil
}
