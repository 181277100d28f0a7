// Package metrics exposes the portal's state to Prometheus: how many
// credentials are expired or expire soon, tenants by status, alert
// deliveries by status, and HTTP traffic. It serves on its own address
// (PORTAL_METRICS_ADDR), away from the public portal, and carries counts
// only: no tenant, application or person is named.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/appreg-portal/portal/internal/store"
)

// Source is what the collector reads at each scrape (internal/store).
type Source interface {
	// CredentialSummary reads the derived per-day counts (0: every tenant),
	// so a scrape costs O(days), not O(credentials).
	CredentialSummary(ctx context.Context, tenantID int64, now time.Time) (store.ExpirySummary, []store.ExpiryMonth, error)
	TenantCounts(ctx context.Context) (map[string]int, error)
	DeliveryCounts(ctx context.Context) (map[string]int, error)
}

// Metrics holds the registry and the HTTP instruments.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// New registers the collectors.
func New(src Source, log *slog.Logger) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "appreg_http_requests_total",
		Help: "HTTP requests served, by method and status code."}, []string{"method", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "appreg_http_request_duration_seconds",
		Help: "Time to serve HTTP requests.", Buckets: prometheus.DefBuckets}, []string{"method"})
	m.reg.MustRegister(m.requests, m.latency, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&stateCollector{src: src, log: log})
	return m
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Observe records one served request.
func (m *Metrics) Observe(method string, code int, d time.Duration) {
	m.requests.WithLabelValues(method, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(method).Observe(d.Seconds())
}

var (
	credentialsDesc = prometheus.NewDesc("appreg_credentials", "Live client secrets and certificates by expiry state (expired, within_30d, within_90d, total).", []string{"state"}, nil)
	tenantsDesc     = prometheus.NewDesc("appreg_tenants", "Tenants by status.", []string{"status"}, nil)
	deliveriesDesc  = prometheus.NewDesc("appreg_alert_deliveries", "Alert deliveries by status.", []string{"status"}, nil)
	upDesc          = prometheus.NewDesc("appreg_database_up", "1 if the last scrape could read the database.", nil, nil)
)

// stateCollector reads the database at scrape time, so the figures are
// never stale and no background loop is needed.
type stateCollector struct {
	src Source
	log *slog.Logger
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- credentialsDesc
	ch <- tenantsDesc
	ch <- deliveriesDesc
	ch <- upDesc
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	up := 1.0
	defer func() { ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, up) }()
	sum, _, err := c.src.CredentialSummary(ctx, 0, time.Now())
	if err != nil {
		c.log.Warn("metrics: credential summary", "err", err)
		up = 0
		return
	}
	for state, n := range map[string]int{"expired": sum.Expired, "within_30d": sum.Within30, "within_90d": sum.Within90, "total": sum.Total} {
		ch <- prometheus.MustNewConstMetric(credentialsDesc, prometheus.GaugeValue, float64(n), state)
	}
	byStatus, err := c.src.TenantCounts(ctx)
	if err != nil {
		c.log.Warn("metrics: tenants", "err", err)
		up = 0
		return
	}
	for _, s := range []string{"pending", "connected", "consent_revoked", "disconnected"} {
		ch <- prometheus.MustNewConstMetric(tenantsDesc, prometheus.GaugeValue, float64(byStatus[s]), s)
	}
	counts, err := c.src.DeliveryCounts(ctx)
	if err != nil {
		c.log.Warn("metrics: deliveries", "err", err)
		up = 0
		return
	}
	for _, s := range []string{"pending", "sent", "failed"} {
		ch <- prometheus.MustNewConstMetric(deliveriesDesc, prometheus.GaugeValue, float64(counts[s]), s)
	}
}
