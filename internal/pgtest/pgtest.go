// Package pgtest gives tests a real, empty, migrated Postgres database.
//
// One throwaway cluster is started per test process from the local
// PostgreSQL binaries (or the server named by PORTAL_TEST_DATABASE_URL is
// used). The schema is migrated once into a template database; every test
// then gets its own clone, which costs a few milliseconds and keeps tests
// independent and parallel.
//
// A package that uses it calls Main from TestMain so the cluster is stopped
// when its tests end:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appreg-portal/portal/internal/pgcluster"
	"github.com/appreg-portal/portal/internal/store"
)

// EnvURL names a running server to use instead of a throwaway cluster. The
// role must be allowed to create databases.
const EnvURL = "PORTAL_TEST_DATABASE_URL"

var (
	once     sync.Once
	setupErr error
	admin    string // URL of the maintenance database
	cluster  *pgcluster.Cluster
	tmpRoot  string
	template = fmt.Sprintf("portal_template_%d", os.Getpid())
	counter  atomic.Int64
)

// Main runs the tests and stops the cluster afterwards.
func Main(m *testing.M) {
	code := m.Run()
	Shutdown()
	os.Exit(code)
}

// Shutdown stops the throwaway cluster, if one was started.
func Shutdown() {
	if cluster != nil {
		_ = cluster.Stop(true) // throwaway data: nothing to lose
		cluster = nil
	}
	if tmpRoot != "" {
		os.RemoveAll(tmpRoot)
	}
	if admin != "" && os.Getenv(EnvURL) != "" {
		dropTemplate()
	}
}

func setup() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if u := os.Getenv(EnvURL); u != "" {
		admin = u
	} else {
		dir, err := os.MkdirTemp("", "portal-pg-")
		if err != nil {
			setupErr = err
			return
		}
		tmpRoot = dir
		// The server may run as another user (root → postgres): it must reach the directory.
		if err := os.Chmod(dir, 0o755); err != nil {
			setupErr = err
			return
		}
		c, err := pgcluster.New(filepath.Join(dir, "data"))
		if err != nil {
			setupErr = err
			return
		}
		if err := c.Init(ctx); err != nil {
			setupErr = err
			return
		}
		if err := c.Start(ctx, true); err != nil {
			setupErr = err
			return
		}
		cluster = c
		admin = c.URL("postgres")
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		setupErr = fmt.Errorf("connect to test server: %w", err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+template+` WITH (FORCE)`); err != nil {
		setupErr = err
		return
	}
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+template); err != nil {
		setupErr = fmt.Errorf("create template database: %w", err)
		return
	}
	st, err := store.Open(ctx, withDB(admin, template), store.Options{MaxConns: 2})
	if err != nil {
		setupErr = err
		return
	}
	defer st.Close()
	if _, err := st.MigrateUp(ctx); err != nil {
		setupErr = err
	}
}

func dropTemplate() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if conn, err := pgx.Connect(ctx, admin); err == nil {
		_, _ = conn.Exec(ctx, `DROP DATABASE IF EXISTS `+template+` WITH (FORCE)`) // best effort at exit
		conn.Close(ctx)
	}
}

// URL creates a fresh database cloned from the migrated template and returns
// its connection string; it is dropped when the test ends. Without
// PostgreSQL binaries or a server, the test fails and says how to fix it.
func URL(tb testing.TB) string {
	tb.Helper()
	return create(tb, template)
}

// EmptyURL is like URL but the database has no schema at all, for migration tests.
func EmptyURL(tb testing.TB) string {
	tb.Helper()
	return create(tb, "template0")
}

func create(tb testing.TB, from string) string {
	tb.Helper()
	once.Do(setup)
	if setupErr != nil {
		tb.Fatalf("pgtest: no test database: %v\n(%s)", setupErr, pgcluster.InstallHint)
	}
	name := fmt.Sprintf("t_%d_%d_%s", os.Getpid(), counter.Add(1), sanitize(tb.Name()))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		tb.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %q TEMPLATE %s`, name, from)); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			tb.Errorf("pgtest: drop database: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, name)); err != nil {
			tb.Errorf("pgtest: drop database: %v", err)
		}
	})
	return withDB(admin, name)
}

// NewStore opens a store on a fresh migrated database.
func NewStore(tb testing.TB) *store.Store {
	tb.Helper()
	st, err := store.Open(context.Background(), URL(tb), store.Options{MaxConns: 4})
	if err != nil {
		tb.Fatalf("pgtest: open store: %v", err)
	}
	tb.Cleanup(st.Close)
	return st
}

// withDB points a connection string (URL or key=value form) at database db.
func withDB(conn, db string) string {
	if u, err := url.Parse(conn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + db
		return u.String()
	}
	return conn + " dbname=" + db // in key=value form the last value wins
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteRune('_')
		}
		if b.Len() >= 30 {
			break
		}
	}
	return b.String()
}
