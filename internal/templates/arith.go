package templates

import (
	"errors"
	"math"
	"reflect"
	"strconv"

	"github.com/osteele/liquid/values"
)

// osteele/liquid does plus, minus, times and modulo in float64, so a
// ticket id plus one prints as "8.447388090495e+12" and loses digits past
// 2^53; its divided_by truncates a float dividend when the divisor is an
// integer (10.5 / 2 = 5) and refuses a divisor sent as text ("2"). These
// follow Shopify: two integers (a number in the template, a ticket's
// integer, or a string that is one) give an integer, exactly (division
// rounds toward zero); anything else is done in floats. modulo by zero is
// an error, like divided_by's, rather than "NaN" in a customer's message.

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
	if y, ok := integer(b); ok && y == 0 {
		return errDivisionByZero
	}
	return nil
}

func plus(a, b any) (any, error) {
	return arithmetic(a, b, func(x, y int64) (int64, bool) {
		r := x + y
		return r, (y >= 0) == (r >= x)
	}, func(x, y float64) (float64, error) { return x + y, nil })
}

func minus(a, b any) (any, error) {
	return arithmetic(a, b, func(x, y int64) (int64, bool) {
		r := x - y
		return r, (y >= 0) == (r <= x)
	}, func(x, y float64) (float64, error) { return x - y, nil })
}

func times(a, b any) (any, error) {
	return arithmetic(a, b, func(x, y int64) (int64, bool) {
		if x == 0 || y == 0 {
			return 0, true
		}
		r := x * y
		return r, r/y == x && !(x == -1 && y == math.MinInt64) && !(y == -1 && x == math.MinInt64)
	}, func(x, y float64) (float64, error) { return x * y, nil })
}

func modulo(a, b any) (any, error) {
	if err := divisor(b); err != nil {
		return nil, err
	}
	return arithmetic(a, b, func(x, y int64) (int64, bool) {
		if y == -1 {
			return 0, true // MinInt64 % -1 would overflow
		}
		return x % y, true
	}, func(x, y float64) (float64, error) {
		if y == 0 {
			return 0, errDivisionByZero
		}
		return math.Mod(x, y), nil
	})
}

func dividedBy(a, b any) (any, error) {
	if err := divisor(b); err != nil {
		return nil, err
	}
	return arithmetic(a, b, func(x, y int64) (int64, bool) {
		return x / y, !(x == math.MinInt64 && y == -1)
	}, func(x, y float64) (float64, error) {
		if y == 0 {
			return 0, errDivisionByZero
		}
		return x / y, nil
	})
}

// arithmetic applies onInts when a and b are both integers and the result
// fits in an int64, else onFloats.
func arithmetic(a, b any, onInts func(x, y int64) (int64, bool), onFloats func(x, y float64) (float64, error)) (any, error) {
	if x, ok := integer(a); ok {
		if y, ok := integer(b); ok {
			if r, ok := onInts(x, y); ok {
				return r, nil
			}
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
	return onFloats(x, y)
}

// integer reads v as an integer: Go's integer types, and a string of
// digits (a ticket field sent as text).
func integer(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case int32:
		return int64(n), true
	case string:
		i, err := strconv.ParseInt(n, 10, 64)
		return i, err == nil
	}
	return 0, false
}

var float64Type = reflect.TypeFor[float64]()

// float reads v as the library reads a filter's float64 argument, with its
// error messages ("can't convert string(abc) to type float64").
func float(v any) (float64, error) {
	if v == nil { // a missing variable counts as 0
		return 0, nil
	}
	f, err := values.Convert(v, float64Type)
	if err != nil {
		return 0, err
	}
	return f.(float64), nil
}
