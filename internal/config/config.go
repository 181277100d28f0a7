// Package config reads the portal's configuration from PORTAL_* environment
// variables. Secrets may instead come from files named by the matching
// *_FILE variable (Docker and Kubernetes secrets). Load validates everything
// at once and reports every problem in one error, so an operator fixes a
// broken deployment in one go rather than one restart per mistake.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/appreg-portal/portal/internal/seal"
)

// Config is the whole configuration of one portal process.
type Config struct {
	Addr            string        // listen address
	BaseURL         *url.URL      // public URL of the portal, used for redirect URIs and cookies
	DatabaseURL     string        // Postgres connection string; empty in dev means "start a local cluster"
	DBMaxConns      int32         // pool size
	DBTimeout       time.Duration // deadline on each database request
	LogFormat       string        // "json" or "text"
	LogLevel        slog.Level
	ShutdownTimeout time.Duration
	// MetricsAddr serves Prometheus metrics on its own listener; empty: off.
	MetricsAddr string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For the
	// portal believes when it records who made a request.
	TrustedProxies []netip.Prefix

	Entra   Entra
	Session Session
	// SealKey (32 bytes) encrypts what the portal keeps for a while but never
	// in plaintext: a wizard run's delegated token, a one-time share link.
	SealKey []byte
	Alerts  Alerts
}

// Alerts configures e-mail alerts before credentials expire.
type Alerts struct {
	SMTPAddr     string // host:port; empty turns alerts off
	SMTPUsername string
	SMTPPassword string
	SMTPFrom     string
	SMTPTLS      string // starttls, tls or none
	// GraphSender is a mailbox in the operator's tenant that sends alerts
	// with Graph sendMail (app-only Mail.Send), for sites without an SMTP
	// relay; used when SMTPAddr is empty.
	GraphSender string
	Recipients  []string
	Thresholds  []int // days before expiry, descending; 0 = on expiry
}

// Entra configures the portal app registration and the Microsoft endpoints.
type Entra struct {
	Authority       string   // login endpoint base, e.g. https://login.microsoftonline.com
	GraphURL        string   // Graph base, e.g. https://graph.microsoft.com/v1.0
	TenantID        string   // the operator's tenant (GUID)
	ClientID        string   // the portal app's client ID
	ClientSecret    string   // the portal app's client secret
	AllowedTenants  []string // tenants whose users may sign in; defaults to TenantID
	BootstrapAdmins []string // object IDs or e-mail addresses made admin at first sign-in
}

// Session configures the portal's server-side sessions.
type Session struct {
	IdleTimeout time.Duration
	Lifetime    time.Duration
}

// Var documents one environment variable; Vars is printed by `portal <cmd> -h`.
type Var struct {
	Name, Default, Help string
	Secret              bool // may also be given as NAME_FILE
}

// Vars lists every variable the portal reads, in the order of the README.
var Vars = []Var{
	{"PORTAL_ADDR", ":8080", "address to listen on", false},
	{"PORTAL_BASE_URL", "", "public URL of the portal, e.g. https://portal.example.com (required)", false},
	{"PORTAL_DATABASE_URL", "", "Postgres URL, e.g. postgres://portal@db/portal (required)", true},
	{"PORTAL_DB_MAX_CONNS", "10", "largest number of open database connections", false},
	{"PORTAL_DB_TIMEOUT", "5s", "deadline for each database request", false},
	{"PORTAL_LOG_FORMAT", "json", "log format: json or text", false},
	{"PORTAL_LOG_LEVEL", "info", "log level: debug, info, warn or error", false},
	{"PORTAL_SHUTDOWN_TIMEOUT", "20s", "how long to let requests finish at shutdown", false},
	{"PORTAL_METRICS_ADDR", "", "address for Prometheus metrics at /metrics, e.g. 127.0.0.1:9090 (off when empty)", false},
	{"PORTAL_TRUSTED_PROXIES", "", "comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For is believed", false},
	{"PORTAL_ENTRA_AUTHORITY", "https://login.microsoftonline.com", "Entra ID sign-in endpoint", false},
	{"PORTAL_GRAPH_URL", "https://graph.microsoft.com/v1.0", "Microsoft Graph endpoint", false},
	{"PORTAL_TENANT_ID", "", "your (the operator's) Entra tenant ID, a GUID (required)", false},
	{"PORTAL_CLIENT_ID", "", "the portal app registration's client ID (required)", false},
	{"PORTAL_CLIENT_SECRET", "", "the portal app registration's client secret (required)", true},
	{"PORTAL_ALLOWED_TENANTS", "PORTAL_TENANT_ID", "comma-separated tenant IDs whose users may sign in", false},
	{"PORTAL_BOOTSTRAP_ADMINS", "", "comma-separated object IDs or e-mail addresses made admin when they sign in", false},
	{"PORTAL_SEAL_KEY", "", "base64 of 32 random bytes (openssl rand -base64 32) that encrypts delegated tokens and share links at rest (required)", true},
	{"PORTAL_SESSION_IDLE_TIMEOUT", "1h", "sign out after this long without a request", false},
	{"PORTAL_SESSION_LIFETIME", "12h", "sign out this long after sign-in, active or not", false},
	{"PORTAL_SMTP_ADDR", "", "mail server for alerts, host:port (alerts are off without it)", false},
	{"PORTAL_SMTP_USERNAME", "", "mail server user name, if it wants one", false},
	{"PORTAL_SMTP_PASSWORD", "", "mail server password", true},
	{"PORTAL_SMTP_FROM", "", "sender address of alert e-mail (required with PORTAL_SMTP_ADDR)", false},
	{"PORTAL_SMTP_TLS", "starttls", "starttls, tls (implicit) or none (a relay on a trusted network only)", false},
	{"PORTAL_ALERT_RECIPIENTS", "", "comma-separated e-mail addresses that get expiry alerts", false},
	{"PORTAL_ALERT_THRESHOLDS", "60,30,14,7,1,0", "days before expiry that alerts go out (0: on expiry)", false},
}

// Problems is every configuration problem found by Load.
type Problems []string

func (p Problems) Error() string {
	var b strings.Builder
	if len(p) == 1 {
		b.WriteString("configuration: 1 problem:")
	} else {
		fmt.Fprintf(&b, "configuration: %d problems:", len(p))
	}
	for _, s := range p {
		b.WriteString("\n  - ")
		b.WriteString(s)
	}
	return b.String()
}

// Mode says which values are required.
type Mode int

const (
	// Serve is production: every required value must be set.
	Serve Mode = iota
	// Dev fills what is missing with local defaults (see cmd/portal dev).
	Dev
	// Migrate needs only the database.
	Migrate
)

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// IsGUID reports whether s is a GUID in its usual 8-4-4-4-12 form.
func IsGUID(s string) bool { return guidRE.MatchString(s) }

// Load reads the configuration through getenv (os.Getenv in production).
func Load(getenv func(string) string, mode Mode) (Config, error) {
	r := reader{getenv: getenv}
	var c Config
	c.Addr = r.str("PORTAL_ADDR", ":8080")
	c.DatabaseURL = r.secret("PORTAL_DATABASE_URL")
	c.DBMaxConns = int32(r.int("PORTAL_DB_MAX_CONNS", 10, 1, 1000))
	c.DBTimeout = r.duration("PORTAL_DB_TIMEOUT", 5*time.Second)
	c.LogFormat = r.oneOf("PORTAL_LOG_FORMAT", "json", "json", "text")
	c.LogLevel = r.level("PORTAL_LOG_LEVEL")
	c.ShutdownTimeout = r.duration("PORTAL_SHUTDOWN_TIMEOUT", 20*time.Second)
	c.MetricsAddr = r.str("PORTAL_METRICS_ADDR", "")
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			r.problem("PORTAL_METRICS_ADDR %q must be host:port, e.g. 127.0.0.1:9090", c.MetricsAddr)
		}
	}
	for _, v := range r.list("PORTAL_TRUSTED_PROXIES", strings.TrimSpace) {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil {
				r.problem("PORTAL_TRUSTED_PROXIES: %q is not an IP address or CIDR (like 10.0.0.0/8)", v)
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, p.Masked())
	}

	c.Entra.Authority = strings.TrimRight(r.str("PORTAL_ENTRA_AUTHORITY", "https://login.microsoftonline.com"), "/")
	c.Entra.GraphURL = strings.TrimRight(r.str("PORTAL_GRAPH_URL", "https://graph.microsoft.com/v1.0"), "/")
	c.Entra.TenantID = strings.ToLower(r.str("PORTAL_TENANT_ID", ""))
	c.Entra.ClientID = strings.ToLower(r.str("PORTAL_CLIENT_ID", ""))
	c.Entra.ClientSecret = r.secret("PORTAL_CLIENT_SECRET")
	c.Entra.AllowedTenants = r.list("PORTAL_ALLOWED_TENANTS", strings.ToLower)
	c.Entra.BootstrapAdmins = r.list("PORTAL_BOOTSTRAP_ADMINS", strings.ToLower)

	if k := r.secret("PORTAL_SEAL_KEY"); k != "" {
		key, err := seal.ParseKey(k)
		if err != nil {
			r.problem("PORTAL_SEAL_KEY: %s", strings.TrimPrefix(err.Error(), "seal: "))
		}
		c.SealKey = key
	}

	c.Session.IdleTimeout = r.duration("PORTAL_SESSION_IDLE_TIMEOUT", time.Hour)
	c.Session.Lifetime = r.duration("PORTAL_SESSION_LIFETIME", 12*time.Hour)

	c.Alerts.SMTPAddr = r.str("PORTAL_SMTP_ADDR", "")
	c.Alerts.SMTPUsername = r.str("PORTAL_SMTP_USERNAME", "")
	c.Alerts.SMTPPassword = r.secret("PORTAL_SMTP_PASSWORD")
	c.Alerts.SMTPFrom = r.str("PORTAL_SMTP_FROM", "")
	c.Alerts.SMTPTLS = r.oneOf("PORTAL_SMTP_TLS", "starttls", "starttls", "tls", "none")
	c.Alerts.Recipients = r.list("PORTAL_ALERT_RECIPIENTS", strings.ToLower)
	c.Alerts.GraphSender = strings.ToLower(r.str("PORTAL_ALERT_GRAPH_SENDER", ""))
	for _, a := range append(slices.Clone(c.Alerts.Recipients), c.Alerts.SMTPFrom, c.Alerts.GraphSender) {
		if a != "" {
			if _, err := mail.ParseAddress(a); err != nil || strings.ContainsAny(a, "<> ") {
				r.problem("%q is not an e-mail address (PORTAL_ALERT_RECIPIENTS / PORTAL_SMTP_FROM / PORTAL_ALERT_GRAPH_SENDER)", a)
			}
		}
	}
	if c.Alerts.SMTPAddr != "" {
		if _, port, err := net.SplitHostPort(c.Alerts.SMTPAddr); err != nil || port == "" {
			r.problem("PORTAL_SMTP_ADDR %q must be host:port, e.g. smtp.example.com:587", c.Alerts.SMTPAddr)
		}
		if c.Alerts.SMTPFrom == "" {
			r.problem("PORTAL_SMTP_FROM is required when PORTAL_SMTP_ADDR is set")
		}
	}
	c.Alerts.Thresholds = []int{60, 30, 14, 7, 1, 0}
	if v := r.getenv("PORTAL_ALERT_THRESHOLDS"); v != "" {
		c.Alerts.Thresholds = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 0 || n > 365 {
				r.problem("PORTAL_ALERT_THRESHOLDS: %q must be whole days from 0 to 365", strings.TrimSpace(f))
				continue
			}
			if !slices.Contains(c.Alerts.Thresholds, n) {
				c.Alerts.Thresholds = append(c.Alerts.Thresholds, n)
			}
		}
		slices.Sort(c.Alerts.Thresholds)
		slices.Reverse(c.Alerts.Thresholds)
	}

	base := r.str("PORTAL_BASE_URL", "")
	if base != "" {
		u, err := url.Parse(base)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			r.problem("PORTAL_BASE_URL %q is not an http(s) URL", base)
		case u.Scheme == "http" && !IsLoopback(u.Hostname()):
			r.problem("PORTAL_BASE_URL %q must use https (plain http is only for localhost)", base)
		case u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "":
			r.problem("PORTAL_BASE_URL %q must not have a path, query or fragment", base)
		default:
			u.Path = ""
			c.BaseURL = u
		}
	}

	if mode == Migrate {
		if c.DatabaseURL == "" {
			r.problem("PORTAL_DATABASE_URL is required")
		}
		return c, r.err()
	}
	if mode == Serve {
		if c.DatabaseURL == "" {
			r.problem("PORTAL_DATABASE_URL is required")
		}
		if base == "" {
			r.problem("PORTAL_BASE_URL is required")
		}
		if c.Entra.ClientSecret == "" {
			r.problem("PORTAL_CLIENT_SECRET (or PORTAL_CLIENT_SECRET_FILE) is required")
		}
		if c.SealKey == nil {
			r.problem("PORTAL_SEAL_KEY (or PORTAL_SEAL_KEY_FILE) is required: make one with `openssl rand -base64 32`")
		}
	}
	for _, v := range []struct{ name, val string }{{"PORTAL_TENANT_ID", c.Entra.TenantID}, {"PORTAL_CLIENT_ID", c.Entra.ClientID}} {
		switch {
		case v.val == "" && mode == Serve:
			r.problem("%s is required", v.name)
		case v.val != "" && !IsGUID(v.val):
			r.problem("%s %q is not a GUID (like 72f988bf-86f1-41af-91ab-2d7cd011db47)", v.name, v.val)
		}
	}
	for _, t := range c.Entra.AllowedTenants {
		if !IsGUID(t) {
			r.problem("PORTAL_ALLOWED_TENANTS: %q is not a tenant ID (a GUID)", t)
		}
	}
	if len(c.Entra.AllowedTenants) == 0 && c.Entra.TenantID != "" {
		c.Entra.AllowedTenants = []string{c.Entra.TenantID}
	}
	for _, v := range []struct{ name, val string }{{"PORTAL_ENTRA_AUTHORITY", c.Entra.Authority}, {"PORTAL_GRAPH_URL", c.Entra.GraphURL}} {
		if u, err := url.Parse(v.val); err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && IsLoopback(u.Hostname()))) {
			r.problem("%s %q must be an https URL (plain http is only for localhost)", v.name, v.val)
		}
	}
	if c.Session.IdleTimeout > c.Session.Lifetime {
		r.problem("PORTAL_SESSION_IDLE_TIMEOUT (%s) must not be longer than PORTAL_SESSION_LIFETIME (%s)", c.Session.IdleTimeout, c.Session.Lifetime)
	}
	return c, r.err()
}

// IsLoopback reports whether host names this machine: "localhost" or a
// loopback address (127.0.0.0/8, ::1). A DNS name that merely starts with
// "127." (127.0.0.1.nip.io) is someone else's.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && a.Unmap().IsLoopback()
}

type reader struct {
	getenv   func(string) string
	problems Problems
}

func (r *reader) problem(format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

func (r *reader) err() error {
	if len(r.problems) == 0 {
		return nil
	}
	return r.problems
}

func (r *reader) str(name, def string) string {
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return v
	}
	return def
}

// secret reads NAME or the file named by NAME_FILE, never both.
func (r *reader) secret(name string) string {
	v, file := r.getenv(name), r.getenv(name+"_FILE")
	if v != "" && file != "" {
		r.problem("%s and %s_FILE are both set; use one", name, name)
		return ""
	}
	if file == "" {
		return strings.TrimSpace(v)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		// The error names the path, never the contents.
		r.problem("%s_FILE: %v", name, errors.Unwrap(err))
		return ""
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		r.problem("%s_FILE %s is empty", name, file)
	}
	return s
}

func (r *reader) int(name string, def, lo, hi int) int {
	s := r.getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < lo || n > hi {
		r.problem("%s %q must be a whole number from %d to %d", name, s, lo, hi)
		return def
	}
	return n
}

func (r *reader) duration(name string, def time.Duration) time.Duration {
	s := r.getenv(name)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d <= 0 {
		r.problem("%s %q must be a positive duration such as 30s, 15m or 2h", name, s)
		return def
	}
	return d
}

func (r *reader) oneOf(name, def string, allowed ...string) string {
	s := strings.ToLower(strings.TrimSpace(r.getenv(name)))
	if s == "" {
		return def
	}
	if !slices.Contains(allowed, s) {
		r.problem("%s %q must be one of %s", name, s, strings.Join(allowed, ", "))
		return def
	}
	return s
}

func (r *reader) level(name string) slog.Level {
	s := r.getenv(name)
	if s == "" {
		return slog.LevelInfo
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(s))); err != nil {
		r.problem("%s %q must be debug, info, warn or error", name, s)
		return slog.LevelInfo
	}
	return l
}

func (r *reader) list(name string, norm func(string) string) []string {
	var out []string
	for _, p := range strings.Split(r.getenv(name), ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, norm(p))
		}
	}
	return out
}
