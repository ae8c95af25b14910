#!/usr/bin/env bash
# Seeds the fuzz corpora from the fixtures: each fixture's SQL, once per engine selector byte.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/split corpus/parse_extract corpus/analysis corpus/lsp
cp seeds/lsp-session corpus/lsp/
for fixture in ../fixtures/*/; do
  name=$(basename "$fixture")
  engine=$(grep -m1 -o 'engine = "[a-z]*"' "$fixture/case.toml" | cut -d'"' -f2 || true)
  case "$engine" in
    mysql) selector='\x01' ;; mariadb) selector='\x02' ;; sqlserver) selector='\x03' ;;
    oracle) selector='\x04' ;; cockroachdb) selector='\x05' ;; sqlite) selector='\x06' ;;
    *) selector='\x00' ;;
  esac
  schema=$(find "$fixture" -path '*migrations*' -name '*.sql' | sort | xargs -r cat)
  for script in $(find "$fixture" -name '*.sql' -not -path '*migrations*' -not -name seed.sql | sort); do
    { printf "$selector"; cat "$script"; } > "corpus/split/$name-$(basename "$script")"
    { printf "$selector"; printf '%s' "$schema"; printf '\0'; cat "$script"; } \
      > "corpus/parse_extract/$name-$(basename "$script")"
  done
done
