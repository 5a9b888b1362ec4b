package socketio_test

import (
	"strings"
	"testing"

	"github.com/natsock/natsock/protocol/engine"
	"github.com/natsock/natsock/protocol/socketio"
)

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	err := socketio.Config{ConnectTimeout: -1, MaxAttachments: -1, MaxAttachmentBytes: -1, AttachmentTimeout: -1,
		Engine: engine.Config{MaxConnections: -1}}.Validate()
	for _, want := range []string{"ConnectTimeout must not be negative", "MaxAttachments must not be negative",
		"MaxAttachmentBytes must not be negative", "AttachmentTimeout must not be negative", "MaxConnections must not be negative"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v; want it to say %q", err, want)
		}
	}
	if _, err := socketio.NewServer(socketio.Config{ConnectTimeout: -1}); err == nil {
		t.Error("NewServer accepted a negative ConnectTimeout")
	}
}
