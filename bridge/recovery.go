package bridge

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// recovery is what connection-state recovery keeps on a node; nil when
// Config.Recovery is off. Run makes it (startRecovery) before serving.
//
// Outbound delivery then reads the recovery stream through one ordered
// consumer (deliverStream), not core subscriptions, so that each message
// has its stream sequence, which every socket gets as the event's offset.
// An ordered consumer resumes after a NATS reconnect from the sequence
// after the last it delivered: nothing lost, nothing twice.
type recovery struct {
	js      jetstream.JetStream
	created int64 // the stream's creation, unix nanoseconds: a pid names it
	pids    pidSigner
	cons    jetstream.ConsumeContext

	// delivered is the sequence of the last message live delivery passed
	// on. Only deliverStream writes it.
	delivered atomic.Uint64
	// recorded is the sequence of the last message live delivery took in:
	// put in recent before it is broadcast, so that a replay beginning
	// while its socket joins the namespace reaches a message the
	// broadcast passed by (see deliverStream). Only deliverStream (and
	// startRecovery) write it.
	recorded atomic.Uint64
	// recent is what live delivery passed on last, from which replays
	// are served when they can be (see recentLog).
	recent recentLog
	// reads bounds the replays and resume checks reading the stream at
	// once (those recent cannot serve): each batch's replies share the
	// node's one NATS connection with live delivery, which a reconnect
	// storm of stream reads would swamp.
	reads chan struct{}
	// handlers are the rules' delivery functions (b.deliverSeq), by
	// index.
	handlers []func(m *nats.Msg, seq uint64)

	badMeta atomic.Bool // a message without JetStream metadata was logged
}

// maxStreamReads bounds the stream reads a node makes at once for replays
// (see recovery.reads): 32 batches of replayBatch messages in flight.
const maxStreamReads = 32

// acquireRead waits for a turn to read the stream, or for ctx to end.
func (rec *recovery) acquireRead(ctx context.Context) (release func(), err error) {
	select {
	case rec.reads <- struct{}{}:
		return func() { <-rec.reads }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("bridge: waiting to read the recovery stream: %w", ctx.Err())
	}
}

// pidKeyName is the key, in the pid bucket, of the HMAC key all nodes
// sign pids with.
const (
	pidKeyName = "hmac-sha256"
	pidKeyLen  = 32
)

// pidBucket names the KV bucket of the pid key, from the stream's name.
func (c Config) pidBucket() string { return c.RecoveryStream + "_pid" }

// startRecovery makes or binds the recovery stream, loads (or makes, once
// for all nodes) the pid key, and starts the ordered consumer that
// delivers to sockets.
func (b *Bridge) startRecovery(ctx context.Context) error {
	js, err := jetstream.New(b.nc)
	if err != nil {
		return fmt.Errorf("bridge: recovery: %w", err)
	}
	info, err := b.ensureStream(ctx, js)
	if err != nil {
		return err
	}
	rec := &recovery{js: js, created: info.Created.UnixNano(), recent: recentLog{window: b.cfg.RecoveryWindow},
		reads: make(chan struct{}, maxStreamReads)}
	if rec.pids.key, err = b.pidKey(ctx, js); err != nil {
		return err
	}
	for _, r := range b.mapping.Rules() {
		rec.handlers = append(rec.handlers, b.deliverSeq(r))
	}
	// Delivery begins after the stream's last message now: what came
	// before is for replay.
	rec.delivered.Store(info.State.LastSeq)
	rec.recorded.Store(info.State.LastSeq)
	cons, err := js.OrderedConsumer(ctx, b.cfg.RecoveryStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: info.Config.Subjects,
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    info.State.LastSeq + 1,
	})
	if err != nil {
		return fmt.Errorf("bridge: recovery: ordered consumer on stream %q: %w", b.cfg.RecoveryStream, err)
	}
	b.rec = rec
	rec.cons, err = cons.Consume(b.deliverStream, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		if !b.stopped.Load() {
			b.log.Warn("recovery stream consumer", "stream", b.cfg.RecoveryStream, "err", err)
		}
	}), jetstream.PullHeartbeat(consumerHeartbeat))
	if err != nil {
		b.rec = nil
		return fmt.Errorf("bridge: recovery: consuming stream %q: %w", b.cfg.RecoveryStream, err)
	}
	b.log.Info("connection-state recovery on", "stream", b.cfg.RecoveryStream, "window", b.cfg.RecoveryWindow,
		"from_sequence", info.State.LastSeq+1)
	return nil
}

// consumerHeartbeat is how often the server tells the ordered consumer it
// is alive while no message flows. Two missed heartbeats make the consumer
// start again on a live server: with nats.go's default of 5 s, a node whose
// consumer lived on a NATS server that died delivered nothing for 10 s.
const consumerHeartbeat = time.Second

// pidKey returns the key all nodes sign pids with: read from the pid
// bucket, or made there by the first node (a KV create is atomic, so two
// nodes starting together agree).
func (b *Bridge) pidKey(ctx context.Context, js jetstream.JetStream) ([]byte, error) {
	bucket := b.cfg.pidBucket()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      bucket,
		Description: "natsock: the key that signs socket.io recovery pids, shared by every node",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    b.cfg.RecoveryReplicas,
	})
	if errors.Is(err, jetstream.ErrBucketExists) {
		kv, err = js.KeyValue(ctx, bucket)
	}
	if err != nil {
		return nil, fmt.Errorf("bridge: recovery: pid key bucket %q: %w", bucket, err)
	}
	key := make([]byte, pidKeyLen)
	_, _ = rand.Read(key)
	if _, err := kv.Create(ctx, pidKeyName, key); err == nil {
		return key, nil
	} else if !errors.Is(err, jetstream.ErrKeyExists) {
		return nil, fmt.Errorf("bridge: recovery: pid key in bucket %q: %w", bucket, err)
	}
	e, err := kv.Get(ctx, pidKeyName)
	if err != nil {
		return nil, fmt.Errorf("bridge: recovery: pid key in bucket %q: %w", bucket, err)
	}
	if len(e.Value()) != pidKeyLen {
		return nil, fmt.Errorf("%w %q: the pid key in bucket %q is %d bytes, not %d: delete the key (nats kv del %s %s) and every node makes a new one on start (open pids then recover nothing)",
			ErrStreamConfig, b.cfg.RecoveryStream, bucket, len(e.Value()), pidKeyLen, bucket, pidKeyName)
	}
	return e.Value(), nil
}

// stopRecovery stops the consumer once the messages it has in hand are
// delivered: none is delivered after it. Safe to call twice.
func (b *Bridge) stopRecovery() {
	if b.rec != nil && b.rec.cons != nil {
		b.rec.cons.Drain()
	}
}

// deliverStream is live delivery with recovery on: the ordered consumer's
// handler, one message at a time in stream order. The message goes through
// the rule that owns its subject, as a core subscription's would, with its
// stream sequence as the event's offset (Broadcast.EmitOffset, which holds
// it back for a socket whose replay runs).
func (b *Bridge) deliverStream(msg jetstream.Msg) {
	rec := b.rec
	meta, err := msg.Metadata()
	if err != nil {
		if rec.badMeta.CompareAndSwap(false, true) {
			b.log.Error("recovery stream message without JetStream metadata, skipped (logged once)", "subject", msg.Subject(), "err", err)
		}
		return
	}
	seq := meta.Sequence.Stream
	if prev := rec.delivered.Load(); seq > prev+1 {
		// The consumer resumed past messages the stream no longer has:
		// expired (NATS was away longer than the window) or deleted. The
		// sockets connected here never got them.
		b.recStats.Skipped.Add(seq - prev - 1)
		b.log.Warn("the recovery stream no longer held messages this node had not delivered yet (NATS away longer than the recovery window, or messages deleted); its sockets missed them",
			"stream", b.cfg.RecoveryStream, "after", prev, "resumed_at", seq, "missed", seq-prev-1)
	}
	m := &nats.Msg{Subject: msg.Subject(), Header: msg.Headers(), Data: msg.Data()}
	// Remembered before the broadcast: a resuming socket that joins the
	// namespace once the broadcast has passed it by begins its replay
	// after this, and finds the message in it (a replay reaches recorded);
	// one that joined before holds it live, and its replay's copy is
	// dropped by seq. delivered moves after the broadcast, since a resume
	// ends by waiting for it (waitDelivered): the message is then held.
	rec.recent.add(recentMsg{seq: seq, subject: m.Subject, hdr: m.Header, data: m.Data, at: meta.Timestamp})
	rec.recorded.Store(seq)
	if _, rule, _ := b.mapping.Match(m.Subject); rule != nil {
		rec.handlers[rule.index](m, seq)
	}
	rec.delivered.Store(seq)
}

// waitDelivered waits until live delivery has passed seq on, or ctx ends.
func (rec *recovery) waitDelivered(ctx context.Context, seq uint64) error {
	for rec.delivered.Load() < seq {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}
