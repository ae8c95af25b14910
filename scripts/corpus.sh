#!/usr/bin/env bash
# Re-fetches the artifacts behind corpus/ (PostgreSQL SQL of real job queues: PL/pgSQL
# functions, triggers, query files) and proves that every vendored file is byte-identical to the
# one in its artifact. corpus/README.md says what each project is and why it is there.
#
#   scripts/corpus.sh            fetch (or reuse) every artifact, refuse a checksum mismatch,
#                                compare corpus/<project>-<version>/ with the artifact, and
#                                extract the fetch-only projects into target/corpus/
#   scripts/corpus.sh --vendor   the same, but first rewrite the vendored files of corpus/ from
#                                the artifacts (after a reviewed change of a pin or a file list)
#
#   cd corpus/procrastinate-3.10.0 && isolint check     (each folder has an isolint.toml)
#
# Vendored (MIT, ISC or MIT/Apache-2.0: the licence allows copying, LICENSE is kept beside):
#
#   procrastinate-3.10.0    PyPI wheel procrastinate 3.10.0: procrastinate/sql/{schema.sql,
#                           queries.sql,migrations/*.sql,future_migrations/*.sql}, as sql/...
#   procrastinate-0.9.0     PyPI wheel procrastinate 0.9.0, the last release before the
#                           migration close_fetch_job_race_condition (0.10.0): the same files
#   graphile-worker-0.18.0  npm tarball graphile-worker 0.18.0: package/sql/*.sql, as sql/...
#   pgq-3.5                 Debian package postgresql-15-pgq3 3.5-1+b1 (amd64):
#                           usr/share/postgresql/15/{extension/pgq--3.5.sql,
#                           contrib/pgq_pl_only.sql}, as extension/... and contrib/...
#   sqlxmq-0.6.0            crates.io crate sqlxmq 0.6.0: migrations/*.sql
#   apalis-postgres-1.0.0   crates.io crate apalis-postgres 1.0.0: migrations/*.sql and
#                           queries/**/*.sql
#   oban-0.7.0              PyPI wheel oban 0.7.0 (Apache-2.0): oban/queries/*.sql, as queries/...
#
# Rendered (MIT; the project builds its SQL in code, so the folder holds what the project's own
# query builder renders, with the render script beside it, instead of files of the artifact):
#
#   pgqueuer-1.6.0          PyPI wheel pgqueuer 1.6.0: render.py, run with the wheel installed
#                           into a throwaway venv (its dependencies pinned below), writes
#                           migrations/001_install.sql and queries/*.sql; LICENSE is
#                           pgqueuer-1.6.0.dist-info/licenses/LICENSE
#   pg-boss-12.38.1         npm tarball pg-boss 12.38.1: render.mjs, run with node on the
#                           unpacked package/ (dist/plans.js needs no dependency), writes
#                           migrations/001_create.sql and queries/*.sql; LICENSE is package/LICENSE
#
# For these the check renders again, with the vendored script, from the pinned artifact, and
# fails unless the rendered files are exactly the folder's migrations/ and queries/, byte for
# byte, and LICENSE is the artifact's. --vendor rewrites them from that render.
#
# Fetch-only (not copied into the repository, extracted into target/corpus/):
#
#   lemmy_db_schema-0.19.21 crates.io crate lemmy_db_schema 0.19.21 (AGPL-3.0): migrations/ (the
#                           same pinned artifact as scripts/real-world.sh)
#   fang-0.11.0             crates.io crate fang 0.11.0 (`license = "MIT"`, but the crate ships no
#                           licence text to keep beside a copy): postgres_migrations/**/*.sql and
#                           src/asynk/queries_postgres/*.sql; corpus/fang-0.11.0/ holds only its
#                           isolint.toml, PROVENANCE.md and reviewed findings.txt, and the
#                           isolint.toml is copied next to the extracted SQL
#
# Besides the artifact's files, a folder holds isolint's own isolint.toml, PROVENANCE.md,
# findings.txt and, where confirm needs one, confirm-setup.sql (and, in a rendered folder, the
# render script); they are kept and not compared.
#
# Each artifact is pinned by version and sha256: a download whose checksum differs is refused.
# They are fetched with the registries' own clients (pip, npm, apt-get, cargo) into
# target/corpus/downloads/; running again reuses them without fetching. Rendering pgqueuer
# installs its wheel and pinned dependencies from PyPI into a venv in a temporary folder (pip's
# cache in target/corpus/downloads/pip-cache); rendering pg-boss needs node (>= 20.10, for the
# import attribute dist/plans.js uses to load dist/schema.json). The Debian package needs
# `apt-get update` to have been run once on the machine. Exit status: 0 when everything matches,
# 1 on a checksum mismatch, a failed download or a vendored file that differs from its artifact.
set -euo pipefail
shopt -s nullglob globstar
cd "$(dirname "$0")/.."

CORPUS=corpus
OUT=target/corpus
DOWNLOADS="$OUT/downloads"

PROCRASTINATE_VERSION=3.10.0
PROCRASTINATE_SHA256=949ad25b4377c30e03a9d0e053d15dfa47ef02b3f12ae8a7f3254686183c152c
PROCRASTINATE_OLD_VERSION=0.9.0
PROCRASTINATE_OLD_SHA256=039f3b040c80466ce6f471a548358fe9638ffd09c6e29514c9015ef54279b885
GRAPHILE_WORKER_VERSION=0.18.0
GRAPHILE_WORKER_SHA256=f6eb86e15119e649a2c540bfc982aa17bc9072707950081729e95dfd0677a865
PGQ_DEB_VERSION=3.5-1+b1
PGQ_SHA256=456d9dcc897642caed7a206d19a09194bda1e2b35c8e6da3ef4d1052a8c484b5
SQLXMQ_VERSION=0.6.0
SQLXMQ_SHA256=b2bd99fe20294f548a6298d60b6490871d78d53d739919a13834d77ffd656869
APALIS_VERSION=1.0.0
APALIS_SHA256=947ad881f4102c5a4d6bb4f117ed38c1b4fe15868631facbc858aab57e3ad38d
OBAN_VERSION=0.7.0
OBAN_SHA256=43312f955a454f0fbecc83b1c8613b5a710d10825c4f9f945493f21ed31972b4
PGQUEUER_VERSION=1.6.0
PGQUEUER_SHA256=00aff6194ff73b5ebf674cb31126b8be780e2adb0dda56043632bcfb4d142ee2
# The dependencies pip resolves for the pgqueuer 1.6.0 wheel, at the versions of the first
# render (2026-12-07). None of them writes SQL (pydantic validates DBSettings, the rest is
# imported on the way), but the render must not depend on what PyPI serves on the day.
PGQUEUER_RENDER_PINS=(
    annotated-doc==0.0.7 annotated-types==0.8.0 anyio==4.16.0 croniter==7.0.0 idna==3.21
    markdown-it-py==4.3.0 mdurl==0.1.2 pydantic==2.14.4 pydantic-settings==2.16.3
    pydantic_core==2.50.5 Pygments==2.21.0 python-dateutil==4.0.0 python-dotenv==1.2.4
    rich==15.0.0 shellingham==1.5.4 tabulate==0.10.0 typer==0.29.3 typing-inspection==0.4.5
    typing_extensions==4.16.0 tzdata==2026.6 uvloop==0.23.0
)
PGBOSS_VERSION=12.38.1
PGBOSS_SHA256=a549b31d726f095b615f5e59cfa627febe42c8254dd94c0060e46913d7b825bf
FANG_VERSION=0.11.0
FANG_SHA256=d67c0e5b142d6417f25f7e7f2acf630dd9100a527e586a81d2801db5ff4867e5
LEMMY_VERSION=0.19.21
LEMMY_SHA256=8569be2266043a656e6b2b01a9c362bd265a8d81dab7b3f5384c8210c1e8bdf7

VENDOR=false
case "${1:-}" in
    "") ;;
    --vendor) VENDOR=true ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "corpus.sh: unknown argument '$1' (try --help)" >&2
        exit 2
        ;;
esac

mkdir -p "$DOWNLOADS"
UNPACKED=$(mktemp -d)
trap 'rm -rf "$UNPACKED"' EXIT
FAILURES=0

say() { echo "corpus.sh: $*" >&2; }

# Refuses FILE unless its sha256 is EXPECTED.
verify() {
    local file=$1 expected=$2 actual
    actual=$(sha256sum "$file" | cut -d' ' -f1)
    if [[ "$actual" != "$expected" ]]; then
        say "$file has sha256 $actual, expected $expected; refusing it"
        say "delete it to fetch it again, or review the new artifact and update the pin"
        exit 1
    fi
}

# Prints the path of the wheel of NAME VERSION, downloading it with pip.
fetch_wheel() {
    local name=$1 version=$2 wheel
    wheel=$(find "$DOWNLOADS" -maxdepth 1 -iname "${name}-${version}-*.whl" | head -n 1)
    if [[ -z "$wheel" ]]; then
        say "fetching the wheel $name $version from PyPI ..."
        # --ignore-requires-python: the wheel is only unpacked, never installed, and a project
        # may require a newer Python than the machine's (oban 0.7.0 requires 3.12).
        python3 -m pip download --quiet --no-deps --only-binary :all: --ignore-requires-python \
            --dest "$DOWNLOADS" "$name==$version" >&2
        wheel=$(find "$DOWNLOADS" -maxdepth 1 -iname "${name}-${version}-*.whl" | head -n 1)
    fi
    if [[ -z "$wheel" ]]; then
        say "pip did not download $name $version"
        exit 1
    fi
    echo "$wheel"
}

# Prints the path of the npm tarball of NAME VERSION, downloading it with `npm pack` (with a
# private npm cache, so nothing outside target/ is touched).
fetch_npm() {
    local name=$1 version=$2 tarball
    tarball="$DOWNLOADS/$name-$version.tgz"
    if [[ ! -f "$tarball" ]]; then
        say "fetching the npm package $name $version ..."
        npm pack --silent --cache "$(pwd)/$DOWNLOADS/npm-cache" \
            --pack-destination "$DOWNLOADS" "$name@$version" >/dev/null
    fi
    if [[ ! -f "$tarball" ]]; then
        say "npm did not download $name $version"
        exit 1
    fi
    echo "$tarball"
}

# Prints the path of the .deb of NAME VERSION (amd64), downloading it with `apt-get download`.
fetch_deb() {
    local name=$1 version=$2 deb
    deb="$DOWNLOADS/${name}_${version//:/%3a}_amd64.deb"
    if [[ ! -f "$deb" ]]; then
        say "fetching the Debian package $name $version ..."
        if ! (cd "$DOWNLOADS" && apt-get download -q "$name=$version" >/dev/null 2>&1); then
            say "apt-get could not download $name=$version: run 'apt-get update' once; if the"
            say "version is gone from the archive, review the new one and update the pin"
            exit 1
        fi
    fi
    if [[ ! -f "$deb" ]]; then
        say "apt-get did not download $name $version"
        exit 1
    fi
    echo "$deb"
}

# Prints the path of the cached .crate of NAME VERSION, downloading it with `cargo info`
# (which fetches the package to read its manifest) into a private cargo home.
fetch_crate() {
    local name=$1 version=$2 cargo_home crate
    cargo_home="$(pwd)/$DOWNLOADS/cargo-home"
    crate=$(find "$cargo_home/registry/cache" -name "$name-$version.crate" 2>/dev/null | head -n 1)
    if [[ -z "$crate" ]]; then
        say "fetching the crate $name $version from crates.io ..."
        (cd "$DOWNLOADS" && CARGO_HOME="$cargo_home" cargo info --quiet "$name@$version" >/dev/null)
        crate=$(find "$cargo_home/registry/cache" -name "$name-$version.crate" | head -n 1)
    fi
    if [[ -z "$crate" ]]; then
        say "cargo did not download $name $version"
        exit 1
    fi
    echo "$crate"
}

# Unpacks ARTIFACT (by its extension) into a new folder and prints that folder.
unpack() {
    local artifact=$1 into
    into=$(mktemp -d -p "$UNPACKED")
    case "$artifact" in
        *.whl) python3 -m zipfile -e "$artifact" "$into" ;;
        *.tgz | *.crate) tar -xzf "$artifact" -C "$into" ;;
        *.deb) dpkg-deb -x "$artifact" "$into" ;;
        *)
            say "do not know how to unpack $artifact"
            exit 1
            ;;
    esac
    echo "$into"
}

# listed WORD ITEM...: whether WORD is one of the ITEMs. (Not `printf | grep -q`: with pipefail,
# grep -q exiting at its first match can kill printf with SIGPIPE and fail the pipeline.)
listed() {
    local word=$1 item
    shift
    for item in "$@"; do
        [[ "$item" == "$word" ]] && return 0
    done
    return 1
}

# check PROJECT ROOT LICENSE_FILE PATTERN...
#
# The files of the artifact unpacked in ROOT that the PATTERNs (globs relative to ROOT) match
# must be exactly the SQL files of corpus/PROJECT, at the same relative paths and byte for byte,
# and corpus/PROJECT/LICENSE must be ROOT/LICENSE_FILE. With --vendor, they are first copied.
check() {
    local project=$1 root=$2 license=$3
    shift 3
    local folder="$CORPUS/$project" pattern file relative expected=() vendored=() bad=0
    for pattern in "$@"; do
        for file in "$root"/$pattern; do
            [[ -f "$file" ]] && expected+=("${file#"$root"/}")
        done
    done
    if [[ ${#expected[@]} -eq 0 ]]; then
        say "$project: the artifact has no file matching $*"
        FAILURES=$((FAILURES + 1))
        return
    fi
    if $VENDOR; then
        mkdir -p "$folder"
        find "$folder" -type f ! -name PROVENANCE.md ! -name isolint.toml ! -name findings.txt \
            ! -name confirm-setup.sql -delete
        for relative in "${expected[@]}"; do
            mkdir -p "$folder/$(dirname "$relative")"
            cp "$root/$relative" "$folder/$relative"
        done
        cp "$root/$license" "$folder/LICENSE"
        find "$folder" -type d -empty -delete
    fi
    if [[ ! -d "$folder" ]]; then
        say "$project: $folder does not exist (run with --vendor to create it)"
        FAILURES=$((FAILURES + 1))
        return
    fi
    for relative in "${expected[@]}"; do
        if [[ ! -f "$folder/$relative" ]]; then
            say "$project: $relative is in the artifact but missing from $folder"
            bad=1
        elif ! cmp -s "$root/$relative" "$folder/$relative"; then
            say "$project: $folder/$relative differs from $relative in the artifact"
            bad=1
        fi
    done
    while IFS= read -r relative; do
        vendored+=("$relative")
    done < <(cd "$folder" && find . -type f ! -name LICENSE ! -name PROVENANCE.md \
        ! -name isolint.toml ! -name findings.txt ! -name confirm-setup.sql \
        | sed 's|^\./||' | LC_ALL=C sort)
    for relative in "${vendored[@]}"; do
        if ! listed "$relative" "${expected[@]}"; then
            say "$project: $folder/$relative is not one of the artifact's files taken"
            bad=1
        fi
    done
    if [[ ! -f "$folder/LICENSE" ]] || ! cmp -s "$root/$license" "$folder/LICENSE"; then
        say "$project: $folder/LICENSE is not the artifact's $license"
        bad=1
    fi
    for file in PROVENANCE.md isolint.toml; do
        if [[ ! -f "$folder/$file" ]]; then
            say "$project: $folder/$file is missing"
            bad=1
        fi
    done
    if [[ $bad -ne 0 ]]; then
        FAILURES=$((FAILURES + 1))
        say "$project: MISMATCH between $folder and its artifact"
    else
        echo "$project: ${#expected[@]} files byte-identical to the artifact, and LICENSE"
    fi
}

# check_rendered PROJECT RENDERED LICENSE_PATH RENDER_SCRIPT
#
# RENDERED is a folder into which RENDER_SCRIPT (corpus/PROJECT/RENDER_SCRIPT, the vendored one)
# has just rendered the project's SQL from the pinned artifact. Its files must be exactly the
# files of corpus/PROJECT other than LICENSE, PROVENANCE.md, isolint.toml, findings.txt,
# confirm-setup.sql and RENDER_SCRIPT, at the same relative paths and byte for byte, and
# corpus/PROJECT/LICENSE must be LICENSE_PATH (the artifact's). With --vendor, they are first
# copied.
check_rendered() {
    local project=$1 rendered=$2 license=$3 script=$4
    local folder="$CORPUS/$project" relative expected=() vendored=() bad=0
    while IFS= read -r relative; do
        expected+=("$relative")
    done < <(cd "$rendered" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)
    if [[ ${#expected[@]} -eq 0 ]]; then
        say "$project: $script rendered nothing"
        FAILURES=$((FAILURES + 1))
        return
    fi
    if $VENDOR; then
        find "$folder" -type f ! -name PROVENANCE.md ! -name isolint.toml ! -name findings.txt \
            ! -name confirm-setup.sql ! -name "$script" -delete
        for relative in "${expected[@]}"; do
            mkdir -p "$folder/$(dirname "$relative")"
            cp "$rendered/$relative" "$folder/$relative"
        done
        cp "$license" "$folder/LICENSE"
        find "$folder" -type d -empty -delete
    fi
    for relative in "${expected[@]}"; do
        if [[ ! -f "$folder/$relative" ]]; then
            say "$project: $relative is rendered but missing from $folder"
            bad=1
        elif ! cmp -s "$rendered/$relative" "$folder/$relative"; then
            say "$project: $folder/$relative differs from what $script renders"
            bad=1
        fi
    done
    while IFS= read -r relative; do
        vendored+=("$relative")
    done < <(cd "$folder" && find . -type f ! -name LICENSE ! -name PROVENANCE.md \
        ! -name isolint.toml ! -name findings.txt ! -name confirm-setup.sql ! -name "$script" \
        | sed 's|^\./||' | LC_ALL=C sort)
    for relative in "${vendored[@]}"; do
        if ! listed "$relative" "${expected[@]}"; then
            say "$project: $folder/$relative is not one of the files $script renders"
            bad=1
        fi
    done
    if [[ ! -f "$folder/LICENSE" ]] || ! cmp -s "$license" "$folder/LICENSE"; then
        say "$project: $folder/LICENSE is not the artifact's licence file"
        bad=1
    fi
    if [[ $bad -ne 0 ]]; then
        FAILURES=$((FAILURES + 1))
        say "$project: MISMATCH between $folder and what $script renders from its artifact"
    else
        echo "$project: ${#expected[@]} files byte-identical to what $script renders from the artifact, and LICENSE"
    fi
}

# extract PROJECT ROOT PATTERN...: copies the matching files of the artifact unpacked in ROOT
# into target/corpus/PROJECT/ (fetch-only projects, whose licence keeps them out of the repo).
extract() {
    local project=$1 root=$2
    shift 2
    local target="$OUT/$project" pattern file count=0
    rm -rf "$target"
    for pattern in "$@"; do
        for file in "$root"/$pattern; do
            [[ -f "$file" ]] || continue
            mkdir -p "$target/$(dirname "${file#"$root"/}")"
            cp "$file" "$target/${file#"$root"/}"
            count=$((count + 1))
        done
    done
    echo "$project: $count files extracted into $target (fetch-only)"
}

# procrastinate, current release and the last one before close_fetch_job_race_condition.
wheel=$(fetch_wheel procrastinate "$PROCRASTINATE_VERSION")
verify "$wheel" "$PROCRASTINATE_SHA256"
root=$(unpack "$wheel")
check "procrastinate-$PROCRASTINATE_VERSION" "$root/procrastinate" \
    "../procrastinate-$PROCRASTINATE_VERSION.dist-info/licenses/LICENSE.md" \
    sql/schema.sql sql/queries.sql 'sql/migrations/*.sql' 'sql/future_migrations/*.sql'

wheel=$(fetch_wheel procrastinate "$PROCRASTINATE_OLD_VERSION")
verify "$wheel" "$PROCRASTINATE_OLD_SHA256"
root=$(unpack "$wheel")
check "procrastinate-$PROCRASTINATE_OLD_VERSION" "$root/procrastinate" \
    "../procrastinate-$PROCRASTINATE_OLD_VERSION.dist-info/LICENSE.rst" \
    sql/schema.sql sql/queries.sql 'sql/migrations/*.sql'

# graphile-worker: the SQL migrations (with psql variables such as :GRAPHILE_WORKER_SCHEMA).
tarball=$(fetch_npm graphile-worker "$GRAPHILE_WORKER_VERSION")
verify "$tarball" "$GRAPHILE_WORKER_SHA256"
root=$(unpack "$tarball")
check "graphile-worker-$GRAPHILE_WORKER_VERSION" "$root/package" LICENSE.md 'sql/*.sql'

# PgQ: the extension's install script and the PL/pgSQL-only variant of its C functions.
deb=$(fetch_deb postgresql-15-pgq3 "$PGQ_DEB_VERSION")
verify "$deb" "$PGQ_SHA256"
root=$(unpack "$deb")
check "pgq-${PGQ_DEB_VERSION%%-*}" "$root/usr/share/postgresql/15" \
    ../../doc/postgresql-15-pgq3/copyright extension/pgq--3.5.sql contrib/pgq_pl_only.sql

# sqlxmq: its sqlx migrations, up and down.
crate=$(fetch_crate sqlxmq "$SQLXMQ_VERSION")
verify "$crate" "$SQLXMQ_SHA256"
root=$(unpack "$crate")
check "sqlxmq-$SQLXMQ_VERSION" "$root/sqlxmq-$SQLXMQ_VERSION" LICENSE-MIT.txt 'migrations/*.sql'

# apalis-postgres: its sqlx migrations and the query files its Rust code includes.
crate=$(fetch_crate apalis-postgres "$APALIS_VERSION")
verify "$crate" "$APALIS_SHA256"
root=$(unpack "$crate")
check "apalis-postgres-$APALIS_VERSION" "$root/apalis-postgres-$APALIS_VERSION" LICENSE \
    'migrations/*.sql' 'queries/**/*.sql'

# oban (Python): the query files its Query class loads one by one, and install.sql (the schema).
wheel=$(fetch_wheel oban "$OBAN_VERSION")
verify "$wheel" "$OBAN_SHA256"
root=$(unpack "$wheel")
check "oban-$OBAN_VERSION" "$root/oban" "../oban-$OBAN_VERSION.dist-info/licenses/LICENSE.txt" \
    'queries/*.sql'

# pgqueuer: builds its SQL in Python. Install the pinned wheel (with pinned dependencies) into a
# throwaway venv and render with the vendored render.py, in a clean environment (DBSettings
# reads PGQUEUER_* variables; render.py also drops them).
project="pgqueuer-$PGQUEUER_VERSION"
for file in render.py PROVENANCE.md isolint.toml; do
    if [[ ! -f "$CORPUS/$project/$file" ]]; then
        say "$project: $CORPUS/$project/$file is missing"
        exit 1
    fi
done
wheel=$(fetch_wheel pgqueuer "$PGQUEUER_VERSION")
verify "$wheel" "$PGQUEUER_SHA256"
root=$(unpack "$wheel")
venv=$(mktemp -d -p "$UNPACKED")
python3 -m venv "$venv"
printf '%s\n' "${PGQUEUER_RENDER_PINS[@]}" >"$venv/constraints.txt"
say "installing $(basename "$wheel") into a throwaway venv to render it ..."
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --cache-dir "$(pwd)/$DOWNLOADS/pip-cache" -c "$venv/constraints.txt" "$wheel" >&2
rendered=$(mktemp -d -p "$UNPACKED")
script="$(pwd)/$CORPUS/$project/render.py"
(cd "$rendered" && env -i PATH="/usr/bin:/bin" HOME="$rendered" \
    "$venv/bin/python" "$script" "$rendered" >&2)
check_rendered "$project" "$rendered" \
    "$root/pgqueuer-$PGQUEUER_VERSION.dist-info/licenses/LICENSE" render.py

# pg-boss: builds its SQL in JavaScript; render with the vendored render.mjs from the unpacked
# tarball (dist/plans.js imports only its own files and node: modules).
project="pg-boss-$PGBOSS_VERSION"
for file in render.mjs PROVENANCE.md isolint.toml; do
    if [[ ! -f "$CORPUS/$project/$file" ]]; then
        say "$project: $CORPUS/$project/$file is missing"
        exit 1
    fi
done
tarball=$(fetch_npm pg-boss "$PGBOSS_VERSION")
verify "$tarball" "$PGBOSS_SHA256"
root=$(unpack "$tarball")
rendered=$(mktemp -d -p "$UNPACKED")
node "$CORPUS/$project/render.mjs" "$root/package" "$rendered" >&2
check_rendered "$project" "$rendered" "$root/package/LICENSE" render.mjs

# fang: fetch-only (no licence text in the crate), the PostgreSQL migrations and query files,
# with the reviewed isolint.toml of corpus/fang-0.11.0/ beside them.
crate=$(fetch_crate fang "$FANG_VERSION")
verify "$crate" "$FANG_SHA256"
root=$(unpack "$crate")
extract "fang-$FANG_VERSION" "$root/fang-$FANG_VERSION" 'postgres_migrations/**/*.sql' \
    'src/asynk/queries_postgres/*.sql'
cp "$CORPUS/fang-$FANG_VERSION/isolint.toml" "$OUT/fang-$FANG_VERSION/isolint.toml"

# Lemmy (AGPL-3.0): fetch-only, into target/corpus/ with an isolint.toml of its own.
crate=$(fetch_crate lemmy_db_schema "$LEMMY_VERSION")
verify "$crate" "$LEMMY_SHA256"
root=$(unpack "$crate")
extract "lemmy_db_schema-$LEMMY_VERSION" "$root/lemmy_db_schema-$LEMMY_VERSION" \
    'migrations/**/*.sql'
cp "$root/lemmy_db_schema-$LEMMY_VERSION/Cargo.toml" "$OUT/lemmy_db_schema-$LEMMY_VERSION/"
printf '%s\n' '# Written by scripts/corpus.sh: Lemmy is AGPL-3.0, so it is fetched, never vendored.' \
    'engine = "postgres"' 'schema = ["migrations/**"]' \
    >"$OUT/lemmy_db_schema-$LEMMY_VERSION/isolint.toml"

if [[ $FAILURES -ne 0 ]]; then
    say "$FAILURES project(s) do not match their artifacts; see above"
    exit 1
fi
echo "corpus.sh: every vendored file matches its pinned artifact"
