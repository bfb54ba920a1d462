package dedupe

import (
	"strings"
	"testing"
	"time"
)

func TestKeyID(t *testing.T) {
	t.Parallel()
	a := Once("solved-sms", "12345")
	if a.ID() != Once("solved-sms", "12345").ID() {
		t.Fatal("the same rule and key must claim the same id")
	}
	others := []Key{
		Once("solved-sms", "12346"),
		Once("other-rule", "12345"),
		Invocation("solved-sms", "12345"),
		// The separator keeps rule/value boundaries apart.
		Once("solved-sms1", "2345"),
	}
	for _, o := range others {
		if o.ID() == a.ID() {
			t.Errorf("%v and %v claim the same id", a, o)
		}
	}
	if n := len(a.ID()); n != 32 {
		t.Errorf("id length %d, want 32", n)
	}
}

func TestWindow(t *testing.T) {
	t.Parallel()
	if got := Once("r", "1").Window(720 * time.Hour); got != 720*time.Hour {
		t.Errorf("once window = %s", got)
	}
	if got := Invocation("r", "inv").Window(720 * time.Hour); got != InvocationWindow {
		t.Errorf("invocation window = %s", got)
	}
}

// Ids are stored and compared across bridges and versions: the hash must
// never change. These were computed outside Go, as sha256 of the parts each
// followed by a NUL byte.
func TestKeyIDIsStable(t *testing.T) {
	t.Parallel()
	for k, want := range map[Key]string{
		Once("solved-sms", "12345"):               "e288f0275fccb09b12c21ee5ed9eb68a",
		Invocation("r", strings.Repeat("x", 200)): "321703b60cf81c21181946cbe5bc37a5",
	} {
		if got := k.ID(); got != want {
			t.Errorf("%v.ID() = %s, want %s", k, got, want)
		}
	}
}
