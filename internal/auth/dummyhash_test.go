package auth

import (
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestTimingEqualizer(t *testing.T) {
	t.Parallel()
	te, err := NewTimingEqualizer(MinBcryptCost)
	if err != nil {
		t.Fatal(err)
	}
	// It compares against a real bcrypt hash of the Hasher's cost...
	if cost, err := bcrypt.Cost(te.hash); err != nil || cost != MinBcryptCost {
		t.Fatalf("dummy hash cost = %d, %v; want %d", cost, err, MinBcryptCost)
	}
	// ...and never matches, whatever is typed.
	for _, p := range []string{"", "correct horse battery staple"} {
		if te.Burn(p) {
			t.Fatalf("Burn(%q) matched", p)
		}
	}

	// A loose sanity check, not a benchmark: both sides do bcrypt work at
	// cost 10, which takes tens of milliseconds on any machine, while a
	// skipped comparison takes microseconds.
	h, err := NewHasher(MinBcryptCost)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := h.Hash("a real user's password")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if ok, err := h.Check(hash, "a wrong password"); ok || err != nil {
		t.Fatalf("Check = %v, %v", ok, err)
	}
	checkTook := time.Since(start)
	start = time.Now()
	te.Burn("a wrong password")
	burn := time.Since(start)
	if checkTook < 10*time.Millisecond || burn < 10*time.Millisecond {
		t.Fatalf("real check took %v, Burn took %v; want both over 10ms", checkTook, burn)
	}
}

func TestNewTimingEqualizerRefusesWeakCost(t *testing.T) {
	t.Parallel()
	if _, err := NewTimingEqualizer(MinBcryptCost - 1); err == nil {
		t.Fatal("cost below the spec's 10 accepted")
	}
}
