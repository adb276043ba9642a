package auth

import (
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	t.Parallel()
	const limit, window = 3, time.Minute

	t.Run("OKUpToTheLimitThenRefusedThenRecovers", func(t *testing.T) {
		t.Parallel()
		clock := newTestClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
		th := NewThrottle(limit, window, clock.Now)

		for i := range limit {
			if ok, retry := th.Allowed("10.0.0.1"); !ok || retry != 0 {
				t.Fatalf("after %d failures: Allowed = %v, %v; want true, 0", i, ok, retry)
			}
			th.Failure("10.0.0.1")
			clock.Advance(10 * time.Second)
		}
		// Failures at 0s, 10s, 20s; now 30s: the first leaves the window at 60s.
		ok, retry := th.Allowed("10.0.0.1")
		if ok || retry != 30*time.Second {
			t.Fatalf("at the limit: Allowed = %v, %v; want false, 30s", ok, retry)
		}
		clock.Advance(20 * time.Second)
		ok, shorter := th.Allowed("10.0.0.1")
		if ok || shorter != 10*time.Second {
			t.Fatalf("20s later: Allowed = %v, %v; want false, 10s", ok, shorter)
		}
		clock.Advance(10 * time.Second)
		if ok, retry := th.Allowed("10.0.0.1"); !ok || retry != 0 {
			t.Fatalf("once the first failure left the window: Allowed = %v, %v; want true, 0", ok, retry)
		}
		// One slot is free: one more failure takes the key back to the limit.
		th.Failure("10.0.0.1")
		if ok, _ := th.Allowed("10.0.0.1"); ok {
			t.Fatal("allowed with three failures in the window")
		}
		clock.Advance(window)
		if ok, _ := th.Allowed("10.0.0.1"); !ok {
			t.Fatal("still refused a whole window after the last failure")
		}
		if got := th.trackedKeys(); got != 0 {
			t.Fatalf("%d keys tracked after every failure expired, want 0", got)
		}
	})

	t.Run("OKKeysAreIndependent", func(t *testing.T) {
		t.Parallel()
		clock := newTestClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
		th := NewThrottle(limit, window, clock.Now)
		for range limit {
			th.Failure("10.0.0.1")
		}
		if ok, _ := th.Allowed("10.0.0.1"); ok {
			t.Fatal("10.0.0.1 allowed at the limit")
		}
		if ok, retry := th.Allowed("10.0.0.2"); !ok || retry != 0 {
			t.Fatalf("10.0.0.2: Allowed = %v, %v; want true, 0", ok, retry)
		}
		th.Failure("10.0.0.2")
		if ok, _ := th.Allowed("10.0.0.2"); !ok {
			t.Fatal("10.0.0.2 refused after one failure")
		}
	})

	t.Run("OKReset", func(t *testing.T) {
		t.Parallel()
		th := NewThrottle(limit, window, nil)
		for range limit {
			th.Failure("10.0.0.1")
		}
		th.Reset("10.0.0.1")
		if ok, _ := th.Allowed("10.0.0.1"); !ok {
			t.Fatal("refused after Reset")
		}
	})

	t.Run("OKAllowedDoesNotTrackUnknownKeys", func(t *testing.T) {
		t.Parallel()
		th := NewThrottle(limit, window, nil)
		for i := range 1000 {
			th.Allowed(strconv.Itoa(i))
		}
		if got := th.trackedKeys(); got != 0 {
			t.Fatalf("%d keys tracked by Allowed alone", got)
		}
	})

	t.Run("OKKeyCapHolds", func(t *testing.T) {
		t.Parallel()
		clock := newTestClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
		th := NewThrottle(limit, time.Hour, clock.Now)
		const keys = 200_000
		for i := range keys {
			th.Failure("addr-" + strconv.Itoa(i))
			if i%1000 == 0 {
				clock.Advance(time.Millisecond) // distinct times, all within the window
			}
		}
		if got := th.trackedKeys(); got != DefaultThrottleMaxKeys {
			t.Fatalf("tracking %d keys, want the cap, %d", got, DefaultThrottleMaxKeys)
		}
		// The oldest were dropped, the newest kept.
		th.mu.Lock()
		_, oldest := th.keys["addr-0"]
		_, newest := th.keys["addr-"+strconv.Itoa(keys-1)]
		th.mu.Unlock()
		if oldest || !newest {
			t.Fatalf("oldest kept = %v, newest kept = %v; want false, true", oldest, newest)
		}
	})

	t.Run("OKConcurrentUse", func(t *testing.T) {
		t.Parallel()
		th := NewThrottle(1000, window, nil)
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				key := "10.0.0." + strconv.Itoa(g%2)
				for range 100 {
					th.Failure(key)
					th.Allowed(key)
				}
			})
		}
		wg.Wait()
		// 4 goroutines × 100 failures per key: under the limit of 1000.
		if ok, _ := th.Allowed("10.0.0.0"); !ok {
			t.Fatal("refused under the limit")
		}
		th.mu.Lock()
		n := len(th.keys["10.0.0.0"].Value.(*throttleEntry).failures)
		th.mu.Unlock()
		if n != 400 {
			t.Fatalf("%d failures recorded, want 400", n)
		}
	})

	t.Run("ErrBadConfigPanics", func(t *testing.T) {
		t.Parallel()
		defer func() {
			if recover() == nil {
				t.Fatal("NewThrottle(0, ...) did not panic")
			}
		}()
		NewThrottle(0, window, nil)
	})
}
