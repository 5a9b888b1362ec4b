package engine

import "os"

// envPortableIdle, set to 1, makes this test binary's servers keep idle
// websocket connections on goroutines (goroutineWatcher) instead of epoll:
// TestSuiteOnThePortableIdlePath reruns the suite so.
const envPortableIdle = "NATSOCK_ENGINE_PORTABLE_IDLE"

func init() { portableIdle = os.Getenv(envPortableIdle) == "1" }

// EnvPortableIdle is envPortableIdle, for the external tests.
const EnvPortableIdle = envPortableIdle

// IdleWatcherKind names the server's idle watcher: "epoll" or "goroutine".
func IdleWatcherKind(srv *Server) string {
	if _, ok := srv.idle.(goroutineWatcher); ok {
		return "goroutine"
	}
	return "epoll"
}
