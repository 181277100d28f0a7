package handlers

import (
	"context"
	"maps"
	"strconv"
	"sync"
	"time"

	"github.com/appreg-portal/portal/internal/store"
)

// refusalWindow is how long one audit row stands for all refusals of the
// same kind from the same address.
const refusalWindow = 10 * time.Minute

// maxRefusalKeys bounds the limiter's memory; beyond it refusals are
// coalesced by kind alone, whatever the address (an attacker rotating
// addresses then still writes one row per kind and window).
const maxRefusalKeys = 4096

// refusalLimiter coalesces the audit rows of refusals that anyone can
// cause without signing in (a forged callback, an unknown consent link): the
// first of a kind from an address in each window is written, later ones are
// counted and the next written row says how many were left out. The log
// keeps a line for each. Audit stays useful, and a loop of bad requests
// cannot flood Postgres.
type refusalLimiter struct {
	mu   sync.Mutex
	now  func() time.Time
	seen map[string]*refusalCount
}

type refusalCount struct {
	since      time.Time
	suppressed int
}

func newRefusalLimiter(now func() time.Time) *refusalLimiter {
	return &refusalLimiter{now: now, seen: map[string]*refusalCount{}}
}

// admit says whether to write the row for a refusal of kind from addr and,
// if so, how many like it were left out since the last written one.
func (l *refusalLimiter) admit(kind, addr string) (write bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	key := kind + "\x00" + addr
	if _, ok := l.seen[key]; !ok && len(l.seen) >= maxRefusalKeys {
		for k, c := range l.seen {
			if now.Sub(c.since) >= refusalWindow {
				delete(l.seen, k) // its left-out refusals are in the log
			}
		}
		if len(l.seen) >= maxRefusalKeys {
			key = kind + "\x00*"
		}
	}
	c := l.seen[key]
	if c == nil || now.Sub(c.since) >= refusalWindow {
		if c != nil {
			suppressed = c.suppressed
		}
		l.seen[key] = &refusalCount{since: now}
		return true, suppressed
	}
	c.suppressed++
	return false, 0
}

// auditRecorder writes audit rows (internal/store).
type auditRecorder interface {
	RecordAudit(ctx context.Context, e store.AuditEvent) error
}

// auditRefusal writes the audit row of an anonymous refusal with rec,
// coalesced by refusalLimiter (the kind is the action and its reason).
func (h *Handler) auditRefusal(ctx context.Context, rec auditRecorder, e store.AuditEvent) error {
	write, suppressed := h.refusals.admit(e.Action+"/"+e.Details["reason"], e.RemoteAddr)
	if !write {
		h.log.InfoContext(ctx, "refusal not audited again", "request_id", e.RequestID, "action", e.Action, "reason", e.Details["reason"], "remote", e.RemoteAddr)
		return nil
	}
	if suppressed > 0 {
		d := maps.Clone(e.Details)
		if d == nil {
			d = map[string]string{}
		}
		d["similar_not_recorded"] = strconv.Itoa(suppressed)
		e.Details = d
	}
	return rec.RecordAudit(ctx, e)
}
