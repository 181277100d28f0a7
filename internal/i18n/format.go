package i18n

import (
	"strconv"
	"strings"
	"time"
)

// Dates are shown in UTC, as everywhere in the portal: an expiry instant is
// the same for a consultant in Amsterdam and a customer elsewhere. Dutch
// writes day and month in lower case ("7 december 2026", "ma 7 dec").

var months = map[Lang][12]string{
	EN: {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
	NL: {"januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"},
}

var shortMonths = map[Lang][12]string{
	EN: {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"},
	NL: {"jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"},
}

var weekdays = map[Lang][7]string{
	EN: {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"},
	NL: {"zo", "ma", "di", "wo", "do", "vr", "za"},
}

func (l *Localizer) wrap(s string) string {
	if l.mark {
		return MarkStart + s + MarkEnd
	}
	return s
}

// Date is a day written out: "7 December 2026", "7 december 2026".
func (l *Localizer) Date(t time.Time) string {
	t = t.UTC()
	return l.wrap(strconv.Itoa(t.Day()) + " " + months[l.lang][t.Month()-1] + " " + strconv.Itoa(t.Year()))
}

// ShortDate is a day in tables: "7 Dec 2026", "7 dec 2026".
func (l *Localizer) ShortDate(t time.Time) string {
	t = t.UTC()
	return l.wrap(strconv.Itoa(t.Day()) + " " + shortMonths[l.lang][t.Month()-1] + " " + strconv.Itoa(t.Year()))
}

// DateTime is a moment: "7 Dec 2026 14:05 UTC".
func (l *Localizer) DateTime(t time.Time) string {
	t = t.UTC()
	return l.wrap(strconv.Itoa(t.Day()) + " " + shortMonths[l.lang][t.Month()-1] + " " + strconv.Itoa(t.Year()) + " " + t.Format("15:04") + " UTC")
}

// WeekdayDateTime is a moment with its weekday: "Mon 7 Dec 2026 14:05 UTC".
func (l *Localizer) WeekdayDateTime(t time.Time) string {
	t = t.UTC()
	return l.wrap(weekdays[l.lang][t.Weekday()] + " " + strconv.Itoa(t.Day()) + " " + shortMonths[l.lang][t.Month()-1] + " " + strconv.Itoa(t.Year()) + " " + t.Format("15:04") + " UTC")
}

// Month is a month in the expiry timeline: "Dec 2026", "dec 2026".
func (l *Localizer) Month(t time.Time) string {
	t = t.UTC()
	return l.wrap(shortMonths[l.lang][t.Month()-1] + " " + strconv.Itoa(t.Year()))
}

// Num writes a whole number with the language's digit grouping: 200,000
// in English, 200.000 in Dutch. Numbers below 10,000 are left ungrouped in
// both, as style guides for both languages advise for four digits.
func (l *Localizer) Num(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	if len(s) > 4 {
		sep := ","
		if l.lang == NL {
			sep = "."
		}
		var b strings.Builder
		pre := len(s) % 3
		if pre > 0 {
			b.WriteString(s[:pre])
		}
		for i := pre; i < len(s); i += 3 {
			if b.Len() > 0 {
				b.WriteString(sep)
			}
			b.WriteString(s[i : i+3])
		}
		s = b.String()
	}
	if neg {
		s = "-" + s
	}
	return s
}
