#!/usr/bin/env bash
# Makes sure the programs the tests need are installed: the PostgreSQL server
# binaries (the test harness starts throwaway clusters from them) and Debian's
# Chromium (browser tests drive it with chromedp). On Debian/Ubuntu as root it
# installs what is missing; elsewhere it says what to install and fails.
set -euo pipefail

need=()
have_pg() {
  command -v initdb >/dev/null 2>&1 && return 0
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}
have_pg || need+=(postgresql)
# The emulator's curl-flow test drives it with curl and jq.
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v jq >/dev/null 2>&1 || need+=(jq)
if [ "${PORTAL_SKIP_BROWSER_DEPS:-}" = "" ]; then
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || need+=(chromium)
fi
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-deps: installing ${need[*]} (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" fonts-dejavu-core >/dev/null
  exit 0
fi
cat >&2 <<MSG
ensure-deps: missing: ${need[*]}
  Debian/Ubuntu:  sudo apt-get install ${need[*]}
  macOS:          brew install postgresql@16 && brew install --cask chromium
PostgreSQL's server binaries must be on PATH or under /usr/lib/postgresql/*/bin,
or set PORTAL_TEST_DATABASE_URL to a server the tests may create databases on.
MSG
exit 1
