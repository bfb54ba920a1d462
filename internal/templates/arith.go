package templates

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"regexp"
	"strings"

	"github.com/osteele/liquid/values"
)

// osteele/liquid does plus, minus, times and modulo in float64, so a
// ticket id plus one prints as "8.447388090495e+12" and loses digits past
// 2^53; its divided_by truncates a float dividend when the divisor is an
// integer (10.5 / 2 = 5) and refuses a divisor sent as text ("2"). These
// follow Shopify: two whole numbers (a number in the template, a ticket's
// integer, or a string of digits) give a whole number, exactly and of any
// size; division and modulo round toward negative infinity, as Ruby does
// (-7 / 2 = -4, -7 % 3 = 2). Anything else is done in floats. A division
// or modulo by zero is an error rather than "NaN" in a customer's message.

var errDivisionByZero = errors.New("division by zero")

// errNoDivisor is a division by a value the ticket does not have (a
// missing or empty field). It fails that render, like a division by zero,
// but says it is the data's doing, so that Check does not refuse a
// template that divides by a field at load, where every field is missing.
var errNoDivisor = errors.New("the divisor is empty: the ticket has no value for it")

// divisor refuses the divisors no division can use.
func divisor(b any) error {
	if b == nil || b == "" {
		return errNoDivisor
	}
	if y, ok := integer(b); ok && y.Sign() == 0 {
		return errDivisionByZero
	}
	return nil
}

func plus(a, b any) (any, error) {
	return arithmetic(a, b, func(x, y *big.Int) *big.Int { return x.Add(x, y) },
		func(x, y float64) (float64, error) { return x + y, nil })
}

func minus(a, b any) (any, error) {
	return arithmetic(a, b, func(x, y *big.Int) *big.Int { return x.Sub(x, y) },
		func(x, y float64) (float64, error) { return x - y, nil })
}

func times(a, b any) (any, error) {
	return arithmetic(a, b, func(x, y *big.Int) *big.Int { return x.Mul(x, y) },
		func(x, y float64) (float64, error) { return x * y, nil })
}

func dividedBy(a, b any) (any, error) {
	if err := divisor(b); err != nil {
		return nil, err
	}
	return arithmetic(a, b, func(x, y *big.Int) *big.Int {
		q, _ := floorDivMod(x, y)
		return q
	}, func(x, y float64) (float64, error) {
		if y == 0 {
			return 0, errDivisionByZero
		}
		return x / y, nil
	})
}

func modulo(a, b any) (any, error) {
	if err := divisor(b); err != nil {
		return nil, err
	}
	return arithmetic(a, b, func(x, y *big.Int) *big.Int {
		_, m := floorDivMod(x, y)
		return m
	}, func(x, y float64) (float64, error) {
		if y == 0 {
			return 0, errDivisionByZero
		}
		m := math.Mod(x, y)
		if m != 0 && (m < 0) != (y < 0) { // the divisor's sign, as Ruby
			m += y
		}
		return m, nil
	})
}

// floorDivMod is x/y rounded toward negative infinity, and the remainder
// with y's sign. y is not zero.
func floorDivMod(x, y *big.Int) (q, m *big.Int) {
	q, m = new(big.Int).QuoRem(x, y, new(big.Int))
	if m.Sign() != 0 && m.Sign() != y.Sign() {
		q.Sub(q, big.NewInt(1))
		m.Add(m, y)
	}
	return q, m
}

// arithmetic applies onInts when a and b are both whole numbers, else
// onFloats. A whole result prints as digits: an int64 when it fits, else
// a string of its digits.
func arithmetic(a, b any, onInts func(x, y *big.Int) *big.Int, onFloats func(x, y float64) (float64, error)) (any, error) {
	if x, ok := integer(a); ok {
		if y, ok := integer(b); ok {
			r := onInts(x, y)
			if r.IsInt64() {
				return r.Int64(), nil
			}
			return r.String(), nil
		}
	}
	x, err := float(a)
	if err != nil {
		return nil, err
	}
	y, err := float(b)
	if err != nil {
		return nil, err
	}
	r, err := onFloats(x, y)
	if err == nil && (math.IsInf(r, 0) || math.IsNaN(r)) {
		return nil, errNotFinite // 1e308 times 10 is no number to send
	}
	return r, err
}

// maxDigits bounds the whole numbers read from text: a ticket field of a
// million digits is not multiplied.
const maxDigits = 400

// integer reads v as a whole number: Go's integer types, and a string of
// digits (a ticket field sent as text), with an optional sign.
func integer(v any) (*big.Int, bool) {
	switch n := v.(type) {
	case int:
		return big.NewInt(int64(n)), true
	case int64:
		return big.NewInt(n), true
	case int32:
		return big.NewInt(int64(n)), true
	case string:
		digits := n
		if len(digits) > 0 && (digits[0] == '-' || digits[0] == '+') {
			digits = digits[1:]
		}
		if len(digits) > maxDigits || !isDigits(digits) {
			return nil, false
		}
		return new(big.Int).SetString(n, 10)
	}
	return nil, false
}

var float64Type = reflect.TypeFor[float64]()

// float reads v as the library reads a filter's float64 argument, with its
// error messages ("can't convert string(abc) to type float64").
//
// Text must be written as a decimal number: the library also reads "NaN",
// "Inf" and "1_000", which would print "NaN" or "+Inf" in a customer's
// message. A result too large for a float is an error too.
func float(v any) (float64, error) {
	if v == nil { // a missing variable counts as 0
		return 0, nil
	}
	if s, ok := v.(string); ok && !decimal.MatchString(strings.TrimSpace(s)) {
		if len(s) > 64 {
			s = s[:64] + "…"
		}
		return 0, fmt.Errorf("can't convert string(%s) to type float64", s)
	}
	f, err := values.Convert(v, float64Type)
	if err != nil {
		return 0, err
	}
	if x := f.(float64); math.IsInf(x, 0) || math.IsNaN(x) {
		return 0, errNotFinite
	}
	return f.(float64), nil
}

// isDigits reports whether s is one or more ASCII digits.
func isDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// decimal is a number as people write one: 12, -3.5, .5, 1.2e3.
var decimal = regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$`)

var errNotFinite = errors.New("the number is too large")
