#!/usr/bin/env bash
# Installs the Debian packages the test suite needs (headless Chromium for the
# UI tests, coturn for the TURN relay tests, iproute2 and nftables for the
# test that builds NATs in network namespaces, redis-server for the signaling
# cluster tests), idempotently: nothing happens when they are already there.
# The tests start their own redis-server on a free loopback port; whether
# Debian's redis-server service runs too does not matter to them.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
[ -x /usr/bin/turnserver ] || need+=(coturn)
[ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || need+=(iproute2)
[ -x /usr/sbin/nft ] || need+=(nftables)
[ -x /usr/bin/redis-server ] || need+=(redis-server)
if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: apt-get not found; install ${need[*]} with your package manager" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
echo "system-deps: installing ${need[*]}"
for attempt in 1 2 3; do
    if $SUDO apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
            "${need[@]}" >/dev/null; then
        exit 0
    fi
    echo "system-deps: attempt $attempt failed; retrying" >&2
    sleep $((attempt * 5))
done
echo "system-deps: could not install ${need[*]}" >&2
exit 1
