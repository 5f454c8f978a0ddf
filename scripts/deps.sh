#!/usr/bin/env bash
# Installs the Debian packages Sluice needs to build, test and benchmark.
# Packages already installed are skipped, so a second run is instant and
# never touches the network.
set -euo pipefail

PACKAGES=(
	build-essential cmake pkg-config
	libevent-dev libmariadb-dev libhiredis-dev libinih-dev libjansson-dev libssl-dev check
	mariadb-server mariadb-client redis-server
	sysbench haproxy python3 python3-pymysql procps curl
	clang libclang-rt-14-dev # libFuzzer (scripts/fuzz.sh); clang only recommends the runtime
	chromium                 # tests/integration/test_dashboard.py (headless)
	mariadb-test             # tests/mtr/ (MariaDB's own test suite through sluice)
)
POLICY_RC=/usr/sbin/policy-rc.d

SUDO=()
[[ $EUID -eq 0 ]] || SUDO=(sudo)

# missing_packages: the names in PACKAGES that are not installed, one a line.
missing_packages() {
	local -A installed=()
	local pkg status
	while read -r pkg status; do
		[[ $status == installed ]] && installed[$pkg]=1
	done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)
	for pkg in "${PACKAGES[@]}"; do
		[[ -n ${installed[$pkg]:-} ]] || echo "$pkg"
	done
}

# Installing mariadb-server or redis-server tries to start the system
# service, which fails in containers and would fail the install. The sandbox
# runs its own servers, so we deny service starts for the duration of the
# install; an existing policy-rc.d is left as it is.
deny_service_starts() {
	[[ -e $POLICY_RC ]] && return
	printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$POLICY_RC" >/dev/null
	"${SUDO[@]}" chmod 755 "$POLICY_RC"
	trap '"${SUDO[@]}" rm -f "$POLICY_RC"' EXIT
}

main() {
	local missing
	mapfile -t missing < <(missing_packages)
	((${#missing[@]} > 0)) || return 0
	echo "deps: installing ${missing[*]}"
	deny_service_starts
	"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
	"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "${missing[@]}"
}

main "$@"
