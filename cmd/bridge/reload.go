package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/rs/zerolog"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/phone"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/rules"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/templates"
)

// reloader holds the rules in force. A reload that fails keeps the old rules
// serving; deliveries already queued keep the rendering they were queued with.
type reloader struct {
	file    string
	log     zerolog.Logger
	counted func(ok bool)
	current atomic.Pointer[rules.Set]

	mu     sync.Mutex // held across load and store
	status reloadStatus
}

type reloadStatus struct {
	File     string    `json:"file"`
	Rules    int       `json:"rules"`
	LoadedAt time.Time `json:"loaded_at"`
	Last     string    `json:"last_reload"` // success or failure
	Error    string    `json:"error,omitempty"`
	At       time.Time `json:"last_reload_at"`
}

func loadRules(file string) (*rules.Set, error) {
	return rules.Load(file, rules.Options{Engine: templates.New(), Country: phone.Country})
}

func newReloader(file string, log zerolog.Logger, counted func(bool)) (*reloader, error) {
	set, err := loadRules(file)
	counted(err == nil)
	if err != nil {
		if le := (*rules.LoadError)(nil); !errors.As(err, &le) {
			return nil, fmt.Errorf("BRIDGE_RULES_FILE: %w", err) // unreadable: name the setting
		}
		return nil, err
	}
	r := &reloader{file: file, log: log, counted: counted}
	r.warn(set)
	r.current.Store(set)
	now := time.Now()
	r.status = reloadStatus{File: file, Rules: len(set.Rules), LoadedAt: now, Last: "success", At: now}
	return r, nil
}

// warn logs what in set loads but is likely a mistake, one line each.
func (r *reloader) warn(set *rules.Set) {
	for _, w := range set.Warnings {
		r.log.Warn().Str("file", set.File).Int("line", w.Line).Str("rule", w.Rule).Str("warning", w.Msg).Msg("rules: likely mistake")
	}
}

// Current implements server.Rules.
func (r *reloader) Current() *rules.Set { return r.current.Load() }

// Status implements server.Rules: shown by /readyz.
func (r *reloader) Status() any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

func (r *reloader) reload(why string) {
	// One reload at a time: SIGHUP and the file watcher may fire together,
	// and an older parse must not overwrite a newer one.
	r.mu.Lock()
	defer r.mu.Unlock()
	set, err := loadRules(r.file)
	r.counted(err == nil)
	now := time.Now()
	r.status.At = now
	if err != nil {
		r.status.Last, r.status.Error = "failure", err.Error()
		r.log.Error().Str("trigger", why).Str("file", r.file).Err(err).Msg("rules reload refused; the previous rules keep serving")
		return
	}
	r.warn(set)
	r.current.Store(set)
	r.status = reloadStatus{File: r.file, Rules: len(set.Rules), LoadedAt: now, Last: "success", At: now}
	r.log.Info().Str("trigger", why).Str("file", r.file).Int("rules", len(set.Rules)).Msg("rules reloaded")
}

// watch reloads when the file changes on disk. It watches the directory, not
// the file, because editors and Kubernetes ConfigMaps replace the file
// (rename or symlink swap) rather than write it in place.
func (r *reloader) watch(ctx context.Context) (stop func()) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		r.log.Warn().Err(err).Msg("cannot watch rules file; SIGHUP still reloads")
		return func() {}
	}
	dir := filepath.Dir(r.file)
	if err := w.Add(dir); err != nil {
		r.log.Warn().Err(err).Msg("cannot watch rules file; SIGHUP still reloads")
		_ = w.Close()
		return func() {}
	}
	target := filepath.Clean(r.file)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Editors write in bursts; reload once things are quiet.
		var debounce <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if filepath.Clean(ev.Name) == target || filepath.Base(ev.Name) == "..data" {
					debounce = time.After(100 * time.Millisecond)
				}
			case <-debounce:
				debounce = nil
				r.reload("file changed")
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				r.log.Warn().Err(err).Msg("rules watcher error")
			}
		}
	}()
	return func() { _ = w.Close(); <-done }
}
