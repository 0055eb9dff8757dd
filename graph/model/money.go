package model

import (
	"strconv"
	"strings"
)

// Money is an amount in minor units of a currency.
type Money struct {
	Cents    int    `json:"cents"`
	Currency string `json:"currency"`
}

// currencyFormat is how a currency is shown.
type currencyFormat struct {
	symbol   string
	decimals int
}

var currencyFormats = map[string]currencyFormat{
	"USD": {"$", 2},
	"EUR": {"€", 2},
	"GBP": {"£", 2},
	"JPY": {"¥", 0},
}

// Formatted returns the amount for display: "$1,234.50", "-€3.00", or
// "12.50 CHF" for a currency without a known symbol.
func (m Money) Formatted() string {
	f, known := currencyFormats[m.Currency]
	if !known {
		f = currencyFormat{decimals: 2}
	}
	cents := m.Cents
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	unit := 1
	for range f.decimals {
		unit *= 10
	}
	whole := groupThousands(strconv.Itoa(cents / unit))
	amount := whole
	if f.decimals > 0 {
		frac := strconv.Itoa(cents % unit)
		amount += "." + strings.Repeat("0", f.decimals-len(frac)) + frac
	}
	if !known {
		return sign + amount + " " + m.Currency
	}
	return sign + f.symbol + amount
}

func groupThousands(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	lead := len(digits) % 3
	if lead > 0 {
		b.WriteString(digits[:lead])
	}
	for i := lead; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}
