package bridge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// streamManagedKey marks, in a stream's metadata, a stream natsock made
// and may therefore update when the rules or the window change.
const (
	streamManagedKey   = "natsock"
	streamManagedValue = "recovery"
)

// streamSetupTimeout bounds the wait for JetStream at start: a cluster
// that is still electing its leaders answers "temporarily unavailable",
// and a server still starting does not answer at all.
const streamSetupTimeout = 30 * time.Second

// maxDuplicates is JetStream's default duplicate window; the stream's is
// no longer than its MaxAge, which JetStream requires.
const maxDuplicates = 2 * time.Minute

// ErrStreamConfig is wrapped by the errors that say why the recovery
// stream cannot be made or used: they need an operator, not a retry.
var ErrStreamConfig = errors.New("bridge: recovery stream")

// streamSubjects returns the recovery stream's subjects for the --map
// patterns: each pattern once, less those another covers, with colliding
// ones ("team.*.news", "team.a.*") replaced by one that covers both
// ("team.*.*"), since JetStream refuses a stream whose subjects overlap.
// The stream may then hold subjects no rule maps; delivery and replay
// skip them. The order is the patterns' order, the first of a merged
// group standing for it.
func streamSubjects(patterns []string) []string {
	var out []string
	for _, p := range patterns {
		out = append(out, p)
		// Merge until no two collide; each merge shortens the list.
		for merged := true; merged; {
			merged = false
			for i := 0; i < len(out) && !merged; i++ {
				for j := i + 1; j < len(out); j++ {
					if server.SubjectsCollide(out[i], out[j]) {
						out[i] = generalize(out[i], out[j])
						out = slices.Delete(out, j, j+1)
						merged = true
						break
					}
				}
			}
		}
	}
	return out
}

// generalize returns the narrowest pattern of the form these tokens allow
// that covers two colliding patterns: equal tokens kept, differing ones
// "*", and ">" from where either has one or their lengths part.
func generalize(a, b string) string {
	at, bt := strings.Split(a, "."), strings.Split(b, ".")
	var out []string
	for i := 0; ; i++ {
		switch {
		case i == len(at) && i == len(bt):
			return strings.Join(out, ".")
		case i == len(at) || i == len(bt) || at[i] == ">" || bt[i] == ">":
			return strings.Join(append(out, ">"), ".")
		case at[i] == bt[i]:
			out = append(out, at[i])
		default:
			out = append(out, "*")
		}
	}
}

// covers reports whether every subject pattern matches is matched by
// filter too.
func covers(filter, pattern string) bool {
	ft, pt := strings.Split(filter, "."), strings.Split(pattern, ".")
	for i, f := range ft {
		switch {
		case f == ">":
			return i < len(pt)
		case i >= len(pt):
			return false
		case f == "*":
			if pt[i] == ">" {
				return false
			}
		case f != pt[i]:
			return false
		}
	}
	return len(ft) == len(pt)
}

// streamConfig is the recovery stream natsock wants: the mapped subjects,
// kept for the window, on file (a NATS restart keeps them), readable by
// direct get (replay asks for ranges without a consumer). NoAck: the
// stream records core traffic beside its subscribers and must not answer
// a request published to a mapped subject in their place.
func (c Config) streamConfig(subjects []string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        c.RecoveryStream,
		Description: "natsock: the --map subjects' messages, kept for socket.io connection-state recovery",
		Subjects:    subjects,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      c.RecoveryWindow,
		Storage:     jetstream.FileStorage,
		Replicas:    c.RecoveryReplicas,
		NoAck:       true,
		Duplicates:  min(c.RecoveryWindow, maxDuplicates),
		AllowDirect: true,
		Metadata:    map[string]string{streamManagedKey: streamManagedValue},
	}
}

// ensureStream creates the recovery stream, or binds the one of that name:
// one natsock made is updated to this node's rules and window (and the
// change logged); one made by someone else is used if it holds every
// mapped subject and allows direct get, and refused otherwise with an
// error naming what differs. Transient failures (JetStream starting, NATS
// not yet connected) are retried up to streamSetupTimeout.
func (b *Bridge) ensureStream(ctx context.Context, js jetstream.JetStream) (*jetstream.StreamInfo, error) {
	subjects := streamSubjects(rulePatterns(b.mapping))
	want := b.cfg.streamConfig(subjects)
	ctx, cancel := context.WithTimeout(ctx, streamSetupTimeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		info, err := b.tryEnsureStream(ctx, js, want)
		if err == nil || errors.Is(err, ErrStreamConfig) {
			return info, err
		}
		b.log.Warn("recovery stream not ready; retrying", "stream", want.Name, "attempt", attempt+1, "err", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("bridge: recovery stream %q: JetStream did not answer within %v: %w", want.Name, streamSetupTimeout, err)
		case <-time.After(b.reconnectDelay(attempt)):
		}
	}
}

func (b *Bridge) tryEnsureStream(ctx context.Context, js jetstream.JetStream, want jetstream.StreamConfig) (*jetstream.StreamInfo, error) {
	st, err := js.CreateStream(ctx, want)
	if err == nil {
		info := st.CachedInfo()
		b.log.Info("recovery stream ready", "stream", want.Name, "subjects", want.Subjects, "max_age", want.MaxAge, "replicas", want.Replicas)
		return info, nil
	}
	if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return nil, streamError(want, err)
	}
	// It exists with another config.
	st, err = js.Stream(ctx, want.Name)
	if err != nil {
		return nil, streamError(want, err)
	}
	have := st.CachedInfo().Config
	if have.Metadata[streamManagedKey] == streamManagedValue {
		if have.Storage != want.Storage {
			return nil, fmt.Errorf("%w %q: exists with %s storage, but recovery keeps file storage and JetStream cannot change it: delete the stream (nats stream rm %s), or name another with --recovery-stream",
				ErrStreamConfig, want.Name, have.Storage, want.Name)
		}
		st, err = js.UpdateStream(ctx, want)
		if err != nil {
			return nil, streamError(want, err)
		}
		b.log.Warn("updated the recovery stream natsock made to this node's rules and window (every node should run the same --map rules)",
			"stream", want.Name, "subjects_were", have.Subjects, "subjects", want.Subjects,
			"max_age_was", have.MaxAge, "max_age", want.MaxAge, "replicas_were", have.Replicas, "replicas", want.Replicas)
		return st.CachedInfo(), nil
	}
	// Someone else's stream: use it only if it serves.
	var problems []string
	for _, s := range want.Subjects {
		if !slices.ContainsFunc(have.Subjects, func(f string) bool { return covers(f, s) }) {
			problems = append(problems, fmt.Sprintf("it does not hold subject %q", s))
		}
	}
	if !have.AllowDirect {
		problems = append(problems, "it does not allow direct get (allow_direct), which replay uses")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w %q: exists, was not made by natsock, and cannot serve recovery: %s (its subjects %q, the --map rules need %q); add them to it, or name another stream with --recovery-stream and natsock makes it",
			ErrStreamConfig, want.Name, strings.Join(problems, "; "), have.Subjects, want.Subjects)
	}
	if have.MaxAge != want.MaxAge {
		b.log.Warn("the recovery stream was not made by natsock and keeps messages for another time than the recovery window: the stream's max age is what bounds a resume",
			"stream", want.Name, "max_age", have.MaxAge, "recovery_window", want.MaxAge)
	}
	b.log.Info("recovery stream bound", "stream", want.Name, "subjects", have.Subjects)
	return st.CachedInfo(), nil
}

// streamError puts a JetStream error about the stream in an operator's
// terms. Errors that need a change of configuration wrap ErrStreamConfig;
// others (time-outs, JetStream starting) may pass with a retry.
func streamError(want jetstream.StreamConfig, err error) error {
	var jerr jetstream.JetStreamError
	if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrJetStreamNotEnabled) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
		// Not a moment to wait out: a server answers JetStream's API as
		// soon as it accepts clients, when JetStream is on.
		return fmt.Errorf("%w %q: JetStream is not enabled on the NATS server, or not for this account (run nats-server with -js, or JetStream in its config and the account's): %w",
			ErrStreamConfig, want.Name, err)
	}
	if !errors.As(err, &jerr) || jerr.APIError() == nil {
		return fmt.Errorf("bridge: recovery stream %q: %w", want.Name, err)
	}
	api := jerr.APIError()
	code := func(id server.ErrorIdentifier) jetstream.ErrorCode { return jetstream.ErrorCode(id) }
	switch api.ErrorCode {
	case code(server.JSClusterNotAvailErr): // a cluster electing its meta leader
		return fmt.Errorf("bridge: recovery stream %q: %w", want.Name, err)
	case code(server.JSStreamSubjectOverlapErr):
		return fmt.Errorf("%w %q: the --map subjects %q overlap another stream's in this account, and JetStream stores a subject in one stream only: take them out of that stream, or bind natsock to it with --recovery-stream: %w",
			ErrStreamConfig, want.Name, want.Subjects, err)
	case code(server.JSStreamReplicasNotSupportedErr), code(server.JSClusterNoPeersErrF), code(server.JSInsufficientResourcesErr):
		return fmt.Errorf("%w %q: %d replicas: %w (lower --recovery-replicas to the cluster's size)", ErrStreamConfig, want.Name, want.Replicas, err)
	}
	return fmt.Errorf("%w %q: %w", ErrStreamConfig, want.Name, err)
}

// rulePatterns returns the --map rules' subject patterns, in order.
func rulePatterns(m *Mapping) []string {
	var out []string
	for _, r := range m.Rules() {
		out = append(out, r.Pattern)
	}
	return out
}
