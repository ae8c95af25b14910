#!/usr/bin/env bash
# Fetches real, openly licensed SQL migrations from package registries into
# target/bench/real-world/, one isolint project per engine, for scripts/bench.sh and for seeing
# how isolint copes with SQL it was not written against.
#
#   postgres/migrations/  Lemmy, the federated link aggregator: the `migrations/` folder of the
#                         crate lemmy_db_schema 0.19.21 (crates.io), AGPL-3.0. 233 diesel
#                         migrations from 2019 to 2025, `<timestamp>_<name>/up.sql` and
#                         `down.sql` (isolint skips down migrations): 466 files, 0.76 MB of SQL,
#                         of which 0.45 MB in up migrations. Tables, views, triggers, PL/pgSQL
#                         functions, backfills.
#   mysql/migrations/     DIRAC, the distributed computing framework: the 20 MySQL schema
#                         scripts `DIRAC/<System>/DB/<Name>.sql` of the wheel DIRAC 9.1.22
#                         (PyPI), GPL-3.0, as `<System>/<Name>.sql`: 0.09 MB of SQL. Tables,
#                         indexes, views and stored procedures.
#
# Each artifact is pinned by version and sha256: a download whose checksum differs is refused.
# They are fetched with the registries' own clients (cargo, pip) into
# target/bench/real-world/downloads/; running again extracts anew without fetching again.
#
#   scripts/real-world.sh
#   target/release/isolint check target/bench/real-world/postgres --engine postgres
#   target/release/isolint check target/bench/real-world/mysql --engine mysql
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=target/bench/real-world
DOWNLOADS="$OUT/downloads"

LEMMY_VERSION=0.19.21
LEMMY_SHA256=8569be2266043a656e6b2b01a9c362bd265a8d81dab7b3f5384c8210c1e8bdf7
DIRAC_VERSION=9.1.22
DIRAC_SHA256=436e054bab6f896d9bb94556db56e9fe434636506e7bbcca0f3ff2a3603f3c1f

mkdir -p "$DOWNLOADS"

# Refuses FILE unless its sha256 is EXPECTED.
verify() {
    local file=$1 expected=$2 actual
    actual=$(sha256sum "$file" | cut -d' ' -f1)
    if [[ "$actual" != "$expected" ]]; then
        echo "real-world.sh: $file has sha256 $actual, expected $expected; refusing it" >&2
        echo "real-world.sh: delete it to fetch it again, or review the new artifact and update the pin" >&2
        exit 1
    fi
}

# Prints the path of the cached .crate of NAME VERSION, downloading it with `cargo info`
# (which fetches the package to read its manifest) into a private cargo home.
fetch_crate() {
    local name=$1 version=$2 cargo_home crate
    cargo_home="$(pwd)/$DOWNLOADS/cargo-home"
    crate=$(find "$cargo_home/registry/cache" -name "$name-$version.crate" 2>/dev/null | head -n 1)
    if [[ -z "$crate" ]]; then
        echo "real-world.sh: fetching the crate $name $version ..." >&2
        (cd "$DOWNLOADS" && CARGO_HOME="$cargo_home" cargo info --quiet "$name@$version" >/dev/null)
        crate=$(find "$cargo_home/registry/cache" -name "$name-$version.crate" | head -n 1)
    fi
    if [[ -z "$crate" ]]; then
        echo "real-world.sh: cargo did not download $name $version" >&2
        exit 1
    fi
    echo "$crate"
}

# Prints the path of the wheel of NAME VERSION, downloading it with pip.
fetch_wheel() {
    local name=$1 version=$2 wheel
    wheel=$(find "$DOWNLOADS" -maxdepth 1 -iname "${name}-${version}-*.whl" | head -n 1)
    if [[ -z "$wheel" ]]; then
        echo "real-world.sh: fetching the wheel $name $version ..." >&2
        python3 -m pip download --quiet --no-deps --only-binary :all: --dest "$DOWNLOADS" "$name==$version" >&2
        wheel=$(find "$DOWNLOADS" -maxdepth 1 -iname "${name}-${version}-*.whl" | head -n 1)
    fi
    if [[ -z "$wheel" ]]; then
        echo "real-world.sh: pip did not download $name $version" >&2
        exit 1
    fi
    echo "$wheel"
}

sql_summary() {
    find "$1" -name '*.sql' -type f -printf '%s\n' |
        awk -v dir="$1" '{ total += $1 } END { printf "%s: %d SQL files, %.2f MB\n", dir, NR, total / 1e6 }'
}

# PostgreSQL: Lemmy's migrations folder as it is in the crate.
crate=$(fetch_crate lemmy_db_schema "$LEMMY_VERSION")
verify "$crate" "$LEMMY_SHA256"
rm -rf "$OUT/postgres"
mkdir -p "$OUT/postgres"
tar -xzf "$crate" -C "$OUT/postgres" --strip-components=1 "lemmy_db_schema-$LEMMY_VERSION/migrations"
sql_summary "$OUT/postgres"

# MySQL: DIRAC's schema scripts, one folder per DIRAC system.
wheel=$(fetch_wheel dirac "$DIRAC_VERSION")
verify "$wheel" "$DIRAC_SHA256"
rm -rf "$OUT/mysql"
unpacked=$(mktemp -d)
trap 'rm -rf "$unpacked"' EXIT
python3 -m zipfile -e "$wheel" "$unpacked"
while IFS= read -r script; do
    relative=${script#"$unpacked"/DIRAC/}          # <System>/DB/<Name>.sql
    target="$OUT/mysql/migrations/${relative%%/*}" # <System>
    mkdir -p "$target"
    cp "$script" "$target/"
done < <(find "$unpacked/DIRAC" -name '*.sql' -type f | sort)
sql_summary "$OUT/mysql"
