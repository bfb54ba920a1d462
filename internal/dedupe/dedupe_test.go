package dedupe

import (
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
