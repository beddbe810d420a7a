#!/usr/bin/env bash
# PHP side of `make test`: installs the PHP toolchain when missing (Debian packages, as root),
# runs `php -l` on every PHP file of the extension, its tests and its bench, then PHPUnit once per
# supported OpenCart version against the local MariaDB (each run creates and drops its own
# database from sandbox/opencart/*.sql).
#   tests/php/run.sh            lint + tests
#   tests/php/run.sh --lint     lint only
# Environment: KERVAN_TEST_MYSQL_HOST/PORT/USER/PASSWORD (default 127.0.0.1:3306 root, no password).
set -euo pipefail
cd "$(dirname "$0")/../.."

PACKAGES=(php-cli php-mysql php-xml php-mbstring php-twig phpunit)
missing=0
command -v php >/dev/null 2>&1 || missing=1
command -v phpunit >/dev/null 2>&1 || missing=1
[ -f /usr/share/php/Twig/autoload.php ] || missing=1
if [ "$missing" = 0 ]; then
    php -r 'foreach (["mysqli", "mbstring", "dom"] as $e) { if (!extension_loaded($e)) exit(1); }' || missing=1
fi
if [ "$missing" = 1 ]; then
    echo "installing ${PACKAGES[*]}" >&2
    SUDO=()
    [ "$(id -u)" = 0 ] || SUDO=(sudo)
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
fi

echo "php -l:" >&2
failed=0
count=0
while IFS= read -r -d '' f; do
    count=$((count + 1))
    if ! out=$(php -l "$f" 2>&1); then
        echo "$out" >&2
        failed=1
    fi
done < <(find opencart_extension tests/php bench/hook_overhead -name '*.php' -print0 2>/dev/null)
echo "  $count files checked" >&2
[ "$failed" = 0 ] || { echo "php -l failed" >&2; exit 1; }
[ "${1:-}" = "--lint" ] && exit 0

for version in 4.1.0.4 4.0.2.3; do
    echo "phpunit, OpenCart $version:" >&2
    OC_VERSION=$version phpunit -c tests/php/phpunit.xml
done
