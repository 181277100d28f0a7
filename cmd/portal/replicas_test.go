package main

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appreg-portal/portal/internal/config"
	"github.com/appreg-portal/portal/internal/pgtest"
	"github.com/appreg-portal/portal/migrations"
)

// Upgrades with several replicas: four portals starting at once against an
// empty database all come up. goose's session advisory lock lets one
// migrate while the others wait; each migration is applied exactly once.
// (Without the lock, replicas fail migration attempts: checked by hand by
// removing goose.WithSessionLocker in internal/store.)
func TestReplicasStartingAtOnceAgainstAnEmptyDatabase(t *testing.T) {
	url := pgtest.EmptyURL(t)
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"PORTAL_ADDR": "127.0.0.1:0", "PORTAL_BASE_URL": "http://127.0.0.1:8080", "PORTAL_SEAL_KEY": testSealKey,
			"PORTAL_DATABASE_URL": url}[k]
	}, config.Dev)
	if err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations: %v %v", files, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const replicas = 4
	logs := make([]syncBuffer, replicas)
	ready := make(chan string, replicas)
	done := make(chan error, replicas)
	var start sync.WaitGroup
	start.Add(1)
	for i := range replicas {
		go func() {
			start.Wait()
			done <- serve(ctx, cfg, slog.New(slog.NewTextHandler(&logs[i], nil)), serveHooks{ready: func(a string) { ready <- a }})
		}()
	}
	start.Done() // both at once
	for range replicas {
		select {
		case addr := <-ready:
			if code, body := get(t, "http://"+addr+"/readyz"); code != 200 {
				t.Errorf("replica at %s: /readyz = %d %s", addr, code, body)
			}
		case err := <-done:
			t.Fatalf("a replica stopped: %v\n%s", err, allLogs(logs))
		case <-time.After(3 * time.Minute):
			t.Fatalf("the replicas did not all come up:\n%s", allLogs(logs))
		}
	}

	applied := 0
	for i := range logs {
		applied += strings.Count(logs[i].String(), "migration applied")
		if strings.Contains(logs[i].String(), "database not ready") {
			t.Errorf("replica %d failed a migration attempt:\n%s", i, logs[i].String())
		}
	}
	if applied != len(files) {
		t.Errorf("%d migrations applied by the replicas together, want each of the %d once", applied, len(files))
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var rows, distinct int
	if err := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0`).Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != len(files) || distinct != len(files) {
		t.Errorf("goose_db_version has %d rows (%d versions), want %d", rows, distinct, len(files))
	}

	cancel()
	for range replicas {
		if err := <-done; err != nil {
			t.Errorf("serve() = %v", err)
		}
	}
}

func allLogs(logs []syncBuffer) string {
	var b strings.Builder
	for i := range logs {
		fmt.Fprintf(&b, "--- replica %d\n%s\n", i, logs[i].String())
	}
	return b.String()
}
