#!/usr/bin/env python3
"""Inventory of the corpus: every function, procedure, DO block, trigger and named query.

    python3 corpus/inventory.py > corpus/INVENTORY.md

For each project folder of corpus/ (and any folder given as an argument, e.g. a fetch-only one
under target/corpus/), lists the CREATE FUNCTION / PROCEDURE statements (name, file, line,
language, the PL/pgSQL and locking constructs their bodies use), the DO blocks, the CREATE
TRIGGER statements (name, timing, events, table, function), the named queries of the query files
and the parameter syntaxes these use. It is a lexical scan (comments, quotes and dollar quotes
are understood, SQL is not parsed): good enough to count and to find things, and checked by hand
against the files for corpus/README.md. Standard library only.
"""

import re
import sys
from pathlib import Path

CORPUS = Path(__file__).resolve().parent

# ---------------------------------------------------------------------------------------------
# Lexing: blank out comments (and, on request, string bodies) while keeping offsets and lines.

DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$")


def spans(text):
    """Yields (kind, start, end) for comments, '...' strings, E'...' strings, "..." identifiers
    and $tag$...$tag$ literals, in order."""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "-" and text.startswith("--", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            yield ("comment", i, j)
            i = j
        elif c == "/" and text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            yield ("comment", i, j)
            i = j
        elif c == "'":
            escape = i > 0 and text[i - 1] in "eE" and (i < 2 or not text[i - 2].isalnum())
            j = i + 1
            while j < n:
                if escape and text[j] == "\\":
                    j += 2
                    continue
                if text[j] == "'":
                    if j + 1 < n and text[j + 1] == "'":
                        j += 2
                        continue
                    break
                j += 1
            yield ("string", i, j + 1)
            i = j + 1
        elif c == '"':
            j = text.find('"', i + 1)
            j = n - 1 if j < 0 else j
            yield ("ident", i, j + 1)
            i = j + 1
        elif c == "$" and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = DOLLAR.match(text, i)
            if m:
                close = text.find(m.group(0), m.end())
                close = n if close < 0 else close
                yield ("dollar", i, close + len(m.group(0)))
                i = close + len(m.group(0))
            else:
                i += 1
        else:
            i += 1


def blank(text, kinds):
    """The text with the spans of the given kinds replaced by spaces (newlines kept)."""
    out = list(text)
    for kind, start, end in spans(text):
        if kind in kinds:
            for k in range(start, min(end, len(text))):
                if out[k] != "\n":
                    out[k] = " "
    return "".join(out)


def statements(text):
    """Yields (start, end) of the ;-separated statements of a file, quotes understood."""
    code = blank(text, {"comment", "string", "dollar", "ident"})
    start = 0
    for m in re.finditer(";", code):
        yield start, m.end()
        start = m.end()
    if code[start:].strip():
        yield start, len(text)


def line_of(text, offset):
    return text.count("\n", 0, offset) + 1


# ---------------------------------------------------------------------------------------------
# Routines and triggers.

NAME = r'(?:"[^"]+"|:?[A-Za-z_][\w$]*)(?:\s*\.\s*(?:"[^"]+"|[A-Za-z_][\w$]*))*'
CREATE_ROUTINE = re.compile(
    r"\bCREATE\s+(?:OR\s+REPLACE\s+)?(FUNCTION|PROCEDURE)\s+(" + NAME + r")\s*\(", re.I
)
CREATE_TRIGGER = re.compile(
    r"\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:CONSTRAINT\s+)?TRIGGER\s+(" + NAME + r")\s+"
    r"(BEFORE|AFTER|INSTEAD\s+OF)\s+(.*?)\s+ON\s+(" + NAME + r")\s+(.*?)"
    r"EXECUTE\s+(?:PROCEDURE|FUNCTION)\s+(" + NAME + r")\s*\(",
    re.I | re.S,
)
DO_BLOCK = re.compile(r"^\s*DO\b", re.I)
LANGUAGE = re.compile(r"\bLANGUAGE\s+'?\"?([A-Za-z_]+)", re.I)

# Constructs looked for in a routine body, with comments and string literals blanked out.
CONSTRUCTS = [
    ("IF", r"\bEND\s+IF\b"),
    ("ELSIF", r"\bELSE?IF\b"),
    ("CASE (statement)", r"\bEND\s+CASE\b"),
    ("LOOP", r"\bEND\s+LOOP\b"),
    ("WHILE", r"\bWHILE\b[^;]*?\bLOOP\b"),
    ("FOR IN query", r"\bFOR\s+[\w\s,]+?\s+IN\s+\(?\s*(?:SELECT|WITH|VALUES)\b"),
    ("FOR IN EXECUTE", r"\bFOR\s+[\w\s,]+?\s+IN\s+EXECUTE\b"),
    ("FOR integer range", r"\bFOR\s+\w+\s+IN\s+(?:REVERSE\s+)?[^;]*?\.\.[^;]*?\bLOOP\b"),
    ("FOREACH", r"\bFOREACH\b"),
    ("EXIT/CONTINUE", r"\b(?:EXIT|CONTINUE)\b\s*(?:WHEN\b|;|\w+\s*(?:WHEN\b|;))"),
    ("EXCEPTION handler", r"\bEXCEPTION\s+WHEN\b"),
    ("RAISE", r"\bRAISE\b"),
    ("EXECUTE (dynamic SQL)", r"(?<!\bIN\s)\bEXECUTE\b(?!\s+(?:PROCEDURE|FUNCTION)\b)"),
    ("RETURN QUERY", r"\bRETURN\s+QUERY\b"),
    ("RETURN NEXT", r"\bRETURN\s+NEXT\b"),
    ("PERFORM", r"\bPERFORM\b"),
    ("GET DIAGNOSTICS", r"\bGET\s+(?:CURRENT\s+|STACKED\s+)?DIAGNOSTICS\b"),
    ("FOUND", r"\bFOUND\b"),
    ("cursor", r"\b(?:OPEN|FETCH|CLOSE)\s+\w+|\bCURSOR\s+(?:FOR|\()"),
    ("WITH (CTE)", r"\bWITH\s+(?:RECURSIVE\s+)?\w+\s*(?:\([^)]*\)\s*)?AS\s*(?:NOT\s+)?(?:MATERIALIZED\s+)?\("),
    ("ON CONFLICT", r"\bON\s+CONFLICT\b"),
    ("FOR UPDATE", r"\bFOR\s+UPDATE\b"),
    ("FOR NO KEY UPDATE", r"\bFOR\s+NO\s+KEY\s+UPDATE\b"),
    ("FOR SHARE", r"\bFOR\s+SHARE\b"),
    ("FOR KEY SHARE", r"\bFOR\s+KEY\s+SHARE\b"),
    ("SKIP LOCKED", r"\bSKIP\s+LOCKED\b"),
    ("NOWAIT", r"\bNOWAIT\b"),
    ("LOCK TABLE", r"\bLOCK\s+TABLE\b|\bLOCK\s+[\w.]+\s+IN\s+[\w\s]+MODE\b"),
    ("advisory lock", r"\bpg_(?:try_)?advisory_(?:xact_)?lock(?:_shared)?\b"),
    ("pg_notify/NOTIFY", r"\bpg_notify\b|\bNOTIFY\b"),
    ("txid/snapshot functions", r"\btxid_\w+|\bpg_current_xact_id\b|\bpg_current_snapshot\b"),
    ("SET LOCAL / set_config", r"\bSET\s+LOCAL\b|\bset_config\b"),
]
CONSTRUCTS = [(label, re.compile(pattern, re.I | re.S)) for label, pattern in CONSTRUCTS]


def top_level_words(statement):
    """The words of a statement (comments and literals already blanked) that are outside any
    parentheses, upper-cased, in order."""
    words, depth = [], 0
    for m in re.finditer(r"[()]|[A-Za-z_]\w*", statement):
        token = m.group(0)
        if token == "(":
            depth += 1
        elif token == ")":
            depth = max(depth - 1, 0)
        elif depth == 0:
            words.append(token.upper())
    return words


def select_into(body):
    """PL/pgSQL SELECT ... INTO var (a top-level SELECT followed by a top-level INTO with no
    INSERT, UPDATE, DELETE or RETURNING between: not INSERT INTO, not RETURNING INTO)."""
    for start, end in statements(body):
        words = top_level_words(body[start:end])
        for i, word in enumerate(words):
            if word != "SELECT":
                continue
            for k in range(i + 1, len(words)):
                later, before = words[k], words[k - 1]
                if later == "UPDATE" and before in ("FOR", "KEY"):
                    continue  # a locking clause, FOR [NO KEY] UPDATE
                if later in ("INSERT", "UPDATE", "DELETE", "RETURNING", "SELECT"):
                    break
                if later == "INTO":
                    return True
    return False


def returning_into(body):
    """DML ... RETURNING ... INTO var at the top level of a statement (not a RETURNING that
    closes a CTE followed by a SELECT INTO)."""
    for start, end in statements(body):
        words = top_level_words(body[start:end])
        if "RETURNING" in words and "INTO" in words[words.index("RETURNING"):]:
            return True
    return False


def cte_skip_locked(body):
    for start, end in statements(body):
        s = body[start:end]
        if re.search(r"\bWITH\b", s, re.I) and re.search(r"\bFOR\s+UPDATE\b[^;]*\bSKIP\s+LOCKED\b", s, re.I | re.S):
            return True
    return False


def constructs(body, raw_body):
    found = [label for label, pattern in CONSTRUCTS if pattern.search(body)]
    if select_into(body):
        found.append("SELECT INTO")
    if returning_into(body):
        found.append("RETURNING INTO")
    if cte_skip_locked(body):
        found.append("CTE with FOR UPDATE SKIP LOCKED")
    # Locks that appear only in dynamic SQL strings (EXECUTE '... nowait').
    for label in ("FOR UPDATE", "SKIP LOCKED", "NOWAIT", "LOCK TABLE", "advisory lock"):
        pattern = dict(CONSTRUCTS)[label]
        if label not in found and pattern.search(raw_body):
            found.append(label + " (in a dynamic SQL string)")
    return found


def routines(path, text):
    code = blank(text, {"comment"})
    out = []
    for start, end in statements(text):
        statement = code[start:end]
        m = CREATE_ROUTINE.search(statement)
        if not m or statement[: m.start()].strip():
            if DO_BLOCK.match(statement) and not statement[: DO_BLOCK.match(statement).start()].strip():
                body_span = next((s for s in spans(text[start:end]) if s[0] in ("dollar", "string")), None)
                body = text[start + body_span[1]: start + body_span[2]] if body_span else ""
                lang = LANGUAGE.search(blank(text[start:end], {"comment", "dollar"}))
                out.append({
                    "kind": "DO", "name": "(DO block)", "file": path,
                    "line": line_of(text, start + len(statement) - len(statement.lstrip())),
                    "language": (lang.group(1).lower() if lang else "plpgsql"),
                    "constructs": constructs(blank(body, {"comment", "string"}), blank(body, {"comment"})),
                })
            continue
        head_offset = start + m.start()
        inner = [s for s in spans(text[start:end]) if s[0] in ("dollar", "string")]
        # The body: the first dollar-quoted literal, else the first string after AS.
        body_span = next((s for s in inner if s[0] == "dollar"), None)
        if body_span is None:
            as_match = re.search(r"\bAS\s*'", statement[m.end():], re.I)
            if as_match:
                at = m.end() + as_match.end() - 1
                body_span = next((s for s in inner if s[1] == at), None)
        body = text[start + body_span[1]: start + body_span[2]] if body_span else ""
        if body_span and body_span[0] == "dollar":
            tag = DOLLAR.match(body).group(0)
            body = body[len(tag): -len(tag)]
        outside = blank(text[start:end], {"comment", "dollar", "string"})
        lang = LANGUAGE.search(outside)
        language = lang.group(1).lower() if lang else "?"
        name = re.sub(r"\s+", "", m.group(2))
        out.append({
            "kind": m.group(1).upper(), "name": name, "file": path,
            "line": line_of(text, head_offset), "language": language,
            "security_definer": bool(re.search(r"\bSECURITY\s+DEFINER\b", outside, re.I)),
            "constructs": constructs(blank(body, {"comment", "string"}), blank(body, {"comment"}))
            if language in ("plpgsql", "sql") else [],
        })
    return out


def triggers(path, text):
    code = blank(text, {"comment"})
    out = []
    for start, end in statements(text):
        statement = code[start:end]
        m = CREATE_TRIGGER.search(statement)
        if not m or statement[: m.start()].strip():
            continue
        events = re.sub(r"\s+", " ", m.group(3)).strip()
        rest = re.sub(r"\s+", " ", m.group(5)).strip()
        level = "FOR EACH STATEMENT" if re.search(r"FOR\s+EACH\s+STATEMENT", rest, re.I) else (
            "FOR EACH ROW" if re.search(r"FOR\s+EACH\s+ROW", rest, re.I) else "FOR EACH STATEMENT")
        when = re.search(r"\bWHEN\s*(\(.*\))", rest, re.I | re.S)
        out.append({
            "name": re.sub(r"\s+", "", m.group(1)), "file": path,
            "line": line_of(text, start + m.start()),
            "timing": re.sub(r"\s+", " ", m.group(2)).upper(), "events": events,
            "table": re.sub(r"\s+", "", m.group(4)), "level": level,
            "when": when.group(1) if when else "", "function": re.sub(r"\s+", "", m.group(6)),
        })
    return out


# ---------------------------------------------------------------------------------------------
# Query files and parameters.

PARAMETERS = [
    ("%(name)s", re.compile(r"%\(\w+\)s")),
    ("$n", re.compile(r"(?<![\w$])\$\d+\b")),
    ("?n", re.compile(r"\?\d+\b")),
    (":name (psql variable)", re.compile(r"(?<![:\w]):[A-Za-z_]\w*")),
    ("{name} (str.format)", re.compile(r"\{\w+\}")),
]
QUERY_HEADER = re.compile(r"^-- ([A-Za-z_]\w*) --\s*$", re.M)


def parameters(text):
    code = blank(text, {"comment", "string", "dollar"})
    return [label for label, pattern in PARAMETERS if pattern.search(code)]


def named_queries(path, text):
    """`-- name --` headers (procrastinate's queries.sql)."""
    return [(m.group(1), line_of(text, m.start())) for m in QUERY_HEADER.finditer(text)]


# ---------------------------------------------------------------------------------------------

def project_report(folder):
    # confirm-setup.sql is isolint's own (setup for `isolint confirm`), not the project's SQL.
    files = sorted(p for p in folder.rglob("*.sql") if p.is_file() and p.name != "confirm-setup.sql")
    rel = lambda p: p.relative_to(folder).as_posix()
    all_routines, all_triggers, queries, params = [], [], [], {}
    for p in files:
        text = p.read_text(encoding="utf-8", errors="replace")
        all_routines += routines(rel(p), text)
        all_triggers += triggers(rel(p), text)
        if p.name == "queries.sql":
            queries += [(rel(p), name, line) for name, line in named_queries(rel(p), text)]
        elif "queries" in p.relative_to(folder).parts[:-1]:
            queries.append((rel(p), "(whole file)", 1))
        for label in parameters(text):
            params.setdefault(label, []).append(rel(p))
    return files, all_routines, all_triggers, queries, params


def markdown(folders):
    lines = ["# Corpus inventory", "",
             "Generated by `python3 corpus/inventory.py > corpus/INVENTORY.md` (a lexical scan; "
             "see the script's docstring). Lines are 1-based; a name defined again by a later "
             "migration is listed once per definition.", ""]
    for folder in folders:
        files, rs, ts, qs, params = project_report(folder)
        functions = [r for r in rs if r["kind"] != "DO"]
        lines += [f"## {folder.name}", "",
                  f"{len(files)} SQL files; {len(functions)} CREATE FUNCTION/PROCEDURE "
                  f"({len({r['name'] for r in functions})} distinct names), "
                  f"{len(rs) - len(functions)} DO blocks, {len(ts)} CREATE TRIGGER, "
                  f"{len(qs)} named queries.", ""]
        if rs:
            lines += ["| routine | file:line | language | constructs |", "| --- | --- | --- | --- |"]
            for r in rs:
                extra = " (SECURITY DEFINER)" if r.get("security_definer") else ""
                label = r["name"] if r["kind"] != "PROCEDURE" else r["name"] + " (PROCEDURE)"
                lines.append(f"| `{label}` | {r['file']}:{r['line']} | {r['language']}{extra} | "
                             f"{', '.join(r['constructs'])} |")
            lines.append("")
        if ts:
            lines += ["| trigger | file:line | when | table | function |", "| --- | --- | --- | --- | --- |"]
            for t in ts:
                when = f" WHEN {t['when']}" if t["when"] else ""
                lines.append(f"| `{t['name']}` | {t['file']}:{t['line']} | {t['timing']} "
                             f"{t['events']} {t['level']}{when} | `{t['table']}` | `{t['function']}` |")
            lines.append("")
        if qs:
            lines += ["| query | file:line |", "| --- | --- |"]
            for path, name, line in qs:
                lines.append(f"| `{name}` | {path}:{line} |")
            lines.append("")
        if params:
            lines.append("Parameter and placeholder syntaxes (outside comments and literals):")
            lines.append("")
            for label, paths in params.items():
                shown = ", ".join(paths[:4]) + (f" and {len(paths) - 4} more" if len(paths) > 4 else "")
                lines.append(f"- `{label}`: {shown}")
            lines.append("")
    return "\n".join(lines)


def main(argv):
    folders = [Path(a) for a in argv[1:]] or sorted(
        p for p in CORPUS.iterdir()
        # a fetch-only project keeps only its isolint.toml here: name its target/corpus/ folder
        if p.is_dir() and (p / "isolint.toml").exists() and any(p.rglob("*.sql")))
    sys.stdout.write(markdown(folders))


if __name__ == "__main__":
    main(sys.argv)
