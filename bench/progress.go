package bench

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progress redraws one status line in place on a terminal, a few times a
// second, from a function that says where the run is.
type progress struct {
	w    io.Writer
	stop chan struct{}
	wg   sync.WaitGroup
}

// progressEvery is how often the bar is redrawn.
const progressEvery = 200 * time.Millisecond

// startProgress draws status() until stopProgress; nil w draws nothing.
func startProgress(w io.Writer, status func() string) *progress {
	p := &progress{w: w, stop: make(chan struct{})}
	if w == nil {
		return p
	}
	p.wg.Go(func() {
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				fmt.Fprint(p.w, "\r\033[K") // clear the line
				return
			case <-t.C:
				fmt.Fprint(p.w, "\r\033[K"+status())
			}
		}
	})
	return p
}

// stopProgress clears the line and waits for the drawing goroutine.
func (p *progress) stopProgress() {
	close(p.stop)
	p.wg.Wait()
}

// bar draws done out of total as [=====>    ] with a percentage.
func bar(done, total int64) string {
	const width = 30
	if total <= 0 {
		return ""
	}
	done = min(max(done, 0), total)
	fill := int(done * width / total)
	s := strings.Repeat("=", fill)
	if fill < width {
		s += ">" + strings.Repeat(" ", width-fill-1)
	}
	return fmt.Sprintf("[%s] %3d%%", s, done*100/total)
}
