package auth

import (
	"container/list"
	"fmt"
	"sync"
	"time"
)

// DefaultThrottleMaxKeys is how many keys a Throttle tracks at most. At a
// few hundred bytes a key that is tens of megabytes, whatever an attacker
// rotating through addresses does.
const DefaultThrottleMaxKeys = 100_000

// Throttle counts failures per key (a client address, for login) in a
// sliding window and says when a key has had too many. It lives in memory,
// so each replica counts on its own and a restart forgets: it is a brake on
// one noisy client, answered with 429 and Retry-After. It never locks an
// account: that is the database's job, which sees every replica's
// failures, and per-account lockout by address would let anyone lock a
// victim out.
//
// A Throttle is safe for concurrent use. Its memory is bounded: keys whose
// failures have all left the window are dropped as calls come in, and past
// maxKeys the key with the oldest latest failure is dropped. An attacker can
// thus make us forget a key by flooding us with new ones, but only with as
// many addresses as we track; the database's per-account lockout is the
// defence that cannot be flushed.
type Throttle struct {
	limit   int
	window  time.Duration
	now     func() time.Time
	maxKeys int

	mu   sync.Mutex
	keys map[string]*list.Element // of *throttleEntry
	// lru orders entries by their latest failure, oldest first, so that
	// both pruning and eviction look only at the front: pruning stops at the
	// first entry still in its window, which keeps it O(1) amortized.
	lru *list.List
}

// throttleEntry holds the times of a key's latest failures, oldest first.
// No more than limit are kept: once limit failures are in the window the
// key is refused until the oldest of them leaves it, and older ones no
// longer matter.
type throttleEntry struct {
	key      string
	failures []time.Time
}

// NewThrottle returns a Throttle that refuses a key once it has had limit
// failures within the last window. now is its clock; nil means time.Now.
// It panics when limit or window is not positive: that is a configuration
// bug the caller's validation should have caught.
func NewThrottle(limit int, window time.Duration, now func() time.Time) *Throttle {
	if limit < 1 || window <= 0 {
		panic(fmt.Sprintf("auth.NewThrottle: limit %d and window %v must be positive", limit, window))
	}
	if now == nil {
		now = time.Now
	}
	return &Throttle{
		limit:   limit,
		window:  window,
		now:     now,
		maxKeys: DefaultThrottleMaxKeys,
		keys:    make(map[string]*list.Element),
		lru:     list.New(),
	}
}

// Failure records a failure for key.
func (t *Throttle) Failure(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.pruneLocked(now)

	if el, ok := t.keys[key]; ok {
		e := el.Value.(*throttleEntry)
		if len(e.failures) == t.limit {
			// Drop the oldest; copy rather than reslice so the backing
			// array does not creep forward and get reallocated.
			copy(e.failures, e.failures[1:])
			e.failures = e.failures[:len(e.failures)-1]
		}
		e.failures = append(e.failures, now)
		t.lru.MoveToBack(el)
		return
	}
	for len(t.keys) >= t.maxKeys {
		t.removeLocked(t.lru.Front())
	}
	e := &throttleEntry{key: key, failures: make([]time.Time, 1, t.limit)}
	e.failures[0] = now
	t.keys[key] = t.lru.PushBack(e)
}

// Allowed reports whether key is still under the limit. When it is not,
// retryAfter is how long until it will be (positive; round it up to whole
// seconds for a Retry-After header). Allowed records nothing, so callers
// check it before the attempt and call Failure after a failed one.
func (t *Throttle) Allowed(key string) (ok bool, retryAfter time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.pruneLocked(now)

	el, found := t.keys[key]
	if !found {
		return true, 0
	}
	e := el.Value.(*throttleEntry)
	// Failures are in time order; skip those that have left the window.
	inWindow := e.failures
	for len(inWindow) > 0 && !t.inWindow(inWindow[0], now) {
		inWindow = inWindow[1:]
	}
	if len(inWindow) < t.limit {
		return true, 0
	}
	// Exactly limit failures in the window: the key is allowed again when
	// the oldest of them leaves it.
	return false, inWindow[0].Add(t.window).Sub(now)
}

// Reset forgets key's failures, e.g. after a successful login.
func (t *Throttle) Reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if el, ok := t.keys[key]; ok {
		t.removeLocked(el)
	}
}

// inWindow reports whether a failure at ts still counts at now.
func (t *Throttle) inWindow(ts, now time.Time) bool {
	return now.Sub(ts) < t.window
}

// pruneLocked drops the keys whose latest failure has left the window.
func (t *Throttle) pruneLocked(now time.Time) {
	for el := t.lru.Front(); el != nil; el = t.lru.Front() {
		e := el.Value.(*throttleEntry)
		if t.inWindow(e.failures[len(e.failures)-1], now) {
			return
		}
		t.removeLocked(el)
	}
}

// removeLocked forgets the key held by el.
func (t *Throttle) removeLocked(el *list.Element) {
	e := t.lru.Remove(el).(*throttleEntry)
	delete(t.keys, e.key)
}

// trackedKeys returns how many keys are held, for tests.
func (t *Throttle) trackedKeys() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.keys)
}
