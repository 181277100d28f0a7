// Package pgcluster runs a private PostgreSQL cluster from the local
// PostgreSQL binaries. `portal dev` keeps one under .data/ so a first look
// needs nothing installed by hand, and the test harness starts a throwaway
// one per test process.
//
// The cluster listens only on a Unix socket in its own directory, so any
// number of clusters can run side by side without fighting over TCP ports.
// As root, initdb refuses to run, so the server runs as the "postgres" user.
package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// InstallHint tells the user how to get the binaries.
const InstallHint = "install PostgreSQL 15 or newer (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql@16), " +
	"put its bin directory on PATH, or set PORTAL_TEST_DATABASE_URL / PORTAL_DATABASE_URL to a running server"

// ErrNoBinaries means no initdb/pg_ctl was found.
var ErrNoBinaries = errors.New("pgcluster: PostgreSQL server binaries (initdb, pg_ctl) not found; " + InstallHint)

// Cluster is one PostgreSQL data directory and the server running on it.
type Cluster struct {
	BinDir  string // where initdb, pg_ctl and postgres live
	DataDir string // the cluster's files
	// SocketDir holds the server's Unix socket; defaults to DataDir's parent "run" sibling.
	SocketDir string
	// Port only names the socket file (.s.PGSQL.<port>); no TCP port is opened.
	Port    int
	asUser  *user.User // run the server as this user (root → postgres)
	LogFile string
}

// FindBinDir finds the directory with pg_ctl: PATH first, then the newest
// /usr/lib/postgresql/*/bin (Debian keeps server binaries off PATH).
func FindBinDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin") // Glob only fails on a bad pattern
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", ErrNoBinaries
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir))) // non-numeric sorts last
	return n
}

// New prepares a cluster in dataDir (not yet created or started).
func New(dataDir string) (*Cluster, error) {
	bin, err := FindBinDir()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{BinDir: bin, DataDir: abs, SocketDir: filepath.Join(filepath.Dir(abs), "run"), Port: 5432}
	c.LogFile = filepath.Join(filepath.Dir(abs), "postgres.log")
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("pgcluster: running as root needs a 'postgres' user to run the server as (it comes with the PostgreSQL packages): %w", err)
		}
		c.asUser = u
	}
	return c, nil
}

// Exists reports whether the data directory holds an initialised cluster.
func (c *Cluster) Exists() bool {
	_, err := os.Stat(filepath.Join(c.DataDir, "PG_VERSION"))
	return err == nil
}

// Init creates the cluster with trust authentication for local connections
// only (the socket directory is not reachable by other users).
func (c *Cluster) Init(ctx context.Context) error {
	if err := c.CheckReachable(); err != nil {
		return err
	}
	for _, d := range []string{filepath.Dir(c.DataDir), c.SocketDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		if err := c.chown(d); err != nil {
			return err
		}
	}
	return c.run(ctx, "initdb", "-D", c.DataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "-N")
}

// Start starts the server and waits until it accepts connections. With fast
// set, durability is traded for speed (fsync off): for throwaway test clusters.
func (c *Cluster) Start(ctx context.Context, fast bool) error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses='' -c max_connections=200", c.Port, c.SocketDir)
	if fast {
		opts += " -F -c synchronous_commit=off -c full_page_writes=off"
	}
	if err := c.CheckReachable(); err != nil {
		return err
	}
	if err := os.MkdirAll(c.SocketDir, 0o755); err != nil {
		return err
	}
	if err := c.chown(c.SocketDir); err != nil {
		return err
	}
	if err := c.touchLog(); err != nil {
		return err
	}
	return c.run(ctx, "pg_ctl", "-D", c.DataDir, "-l", c.LogFile, "-o", opts, "-w", "-t", "60", "start")
}

// Stop stops the server. Immediate skips the shutdown checkpoint: fine for
// throwaway clusters, not for .data/.
func (c *Cluster) Stop(immediate bool) error {
	mode := "fast"
	if immediate {
		mode = "immediate"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return c.run(ctx, "pg_ctl", "-D", c.DataDir, "-m", mode, "-w", "stop")
}

// Running reports whether a server is running on the data directory.
func (c *Cluster) Running(ctx context.Context) bool {
	return c.run(ctx, "pg_ctl", "-D", c.DataDir, "status") == nil
}

// URL is the connection string for database db over the Unix socket.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("host=%s port=%d user=postgres dbname=%s sslmode=disable", c.SocketDir, c.Port, db)
}

// CheckReachable says, before initdb fails with a bare "Permission denied",
// when the server's user (postgres, as root) cannot reach the cluster's
// directory because a folder above it is private, and how to fix that.
func (c *Cluster) CheckReachable() error {
	if c.asUser == nil {
		return nil // the server runs as us: we reach what we created
	}
	uid, _ := strconv.Atoi(c.asUser.Uid)
	var gids []int
	if ids, err := c.asUser.GroupIds(); err == nil {
		for _, g := range ids {
			n, _ := strconv.Atoi(g)
			gids = append(gids, n)
		}
	}
	blocked, err := Unreachable(filepath.Dir(c.DataDir), uid, gids)
	if err != nil || blocked == "" {
		return err
	}
	return fmt.Errorf("pgcluster: as root the Postgres server runs as the %q user, which cannot enter %s (mode %s): "+
		"it cannot reach the cluster in %s. Either pick a data directory outside it (e.g. 'portal dev -data /var/lib/appreg-dev'), "+
		"or let others pass through that folder with 'chmod o+x %s' (or 'setfacl -m u:%s:x %s' for that user only), "+
		"or run as an ordinary user",
		c.asUser.Username, blocked, modeOf(blocked), c.DataDir, blocked, c.asUser.Username, blocked)
}

// Unreachable returns the first existing folder from / down to dir that the
// user uid (with groups gids) may not enter (no search permission), or "".
// Folders that do not exist yet are skipped: they are made 0755 later.
func Unreachable(dir string, uid int, gids []int) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	var chain []string
	for p := abs; ; p = filepath.Dir(p) {
		chain = append(chain, p)
		if p == filepath.Dir(p) {
			break
		}
	}
	for i := len(chain) - 1; i >= 0; i-- {
		p := chain[i]
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return "", nil // not a Unix file system: nothing to say
		}
		mode := fi.Mode().Perm()
		var can bool
		switch {
		case uid == 0:
			can = true
		case int(st.Uid) == uid:
			can = mode&0o100 != 0
		case slices.Contains(gids, int(st.Gid)):
			can = mode&0o010 != 0
		default:
			can = mode&0o001 != 0
		}
		if !can {
			return p, nil
		}
	}
	return "", nil
}

func modeOf(p string) string {
	fi, err := os.Stat(p)
	if err != nil {
		return "unknown"
	}
	return fmt.Sprintf("%04o", fi.Mode().Perm())
}

func (c *Cluster) touchLog() error {
	f, err := os.OpenFile(c.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	f.Close()
	return c.chown(c.LogFile)
}

func (c *Cluster) chown(path string) error {
	if c.asUser == nil {
		return nil
	}
	uid, _ := strconv.Atoi(c.asUser.Uid)
	gid, _ := strconv.Atoi(c.asUser.Gid)
	return filepath.Walk(path, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// run runs a PostgreSQL program, as the postgres user when we are root.
func (c *Cluster) run(ctx context.Context, prog string, args ...string) error {
	bin := filepath.Join(c.BinDir, prog)
	var cmd *exec.Cmd
	if c.asUser != nil {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", c.asUser.Username, "--", bin}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, bin, args...)
	}
	cmd.Dir = filepath.Dir(c.DataDir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if prog == "pg_ctl" && len(args) > 0 && args[len(args)-1] == "start" {
			if b, rerr := os.ReadFile(c.LogFile); rerr == nil {
				msg += "\n" + tail(string(b), 15)
			}
		}
		return fmt.Errorf("pgcluster: %s: %w\n%s", prog, err, msg)
	}
	return nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
