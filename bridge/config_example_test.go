package bridge_test

import (
	"errors"
	"fmt"

	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/protocol/engine"
	"github.com/natsock/natsock/protocol/socketio"
)

// Validate names each bad field by its path from Config, so that a caller
// can say where the value came from (the command line names the flag, the
// environment variable or the config file's line).
func ExampleConfig_Validate() {
	cfg := bridge.Config{
		Maps:     []string{"tasks.assigned=newTaskAssigned", "tasks"},
		SocketIO: socketio.Config{Engine: engine.Config{MaxPayload: -1}},
	}
	err := cfg.Validate()
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *bridge.FieldError
		if errors.As(e, &fe) {
			fmt.Printf("%s: %v\n", fe.Field, fe.Err)
		}
	}
	// Output:
	// Maps[1]: bridge: bad rule: want SUBJECT=EVENT, found no '='
	// SocketIO.Engine.MaxPayload: must not be negative
}

// A zero field means its default, which DefaultConfig shows; the lower
// layers' defaults come from their own Default* constants.
func ExampleDefaultConfig() {
	c := bridge.DefaultConfig()
	fmt.Println(c.Listen, c.RequestTimeout, c.SocketIO.Engine.MaxConnections == engine.DefaultMaxConnections)
	// Output: :3000 5s true
}
