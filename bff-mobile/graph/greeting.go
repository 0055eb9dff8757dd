package graph

import "time"

// greeting returns the home screen's greeting for the local time t, e.g.
// "Good evening, Ada": morning from 5:00 to 11:59, afternoon from 12:00 to
// 17:59, evening otherwise. Without a first name it is just "Good evening".
func greeting(t time.Time, firstName string) string {
	var part string
	switch h := t.Hour(); {
	case h >= 5 && h < 12:
		part = "Good morning"
	case h >= 12 && h < 18:
		part = "Good afternoon"
	default:
		part = "Good evening"
	}
	if firstName == "" {
		return part
	}
	return part + ", " + firstName
}
