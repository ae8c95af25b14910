//! The statement splitter: cuts a file into statements at top-level semicolons (and T-SQL `GO`
//! lines), keeping each statement's file-absolute range and the comments directly above it.

use super::lexer::{Flavor, Token, TokenKind, tokenize};
use crate::source::TextRange;

/// One statement's text range and the tokens inside it (comments excluded).
#[derive(Debug, Clone)]
pub struct Chunk {
    pub range: TextRange,
    pub tokens: Vec<Token>,
    /// Comments between the previous statement and this one.
    pub leading_comments: Vec<TextRange>,
    /// Set when a string, quoted identifier or comment in the statement never closes.
    pub unterminated: bool,
}

/// What the splitter found in a file.
#[derive(Debug, Clone, Default)]
pub struct Split {
    pub chunks: Vec<Chunk>,
    /// Every comment in the file, for file-level directives.
    pub comments: Vec<TextRange>,
    /// Where a `-- migrate:down` section starts; the text after it is not part of the schema.
    pub down_section: Option<usize>,
}

pub fn split(source: &str, flavor: Flavor, go_batches: bool) -> Split {
    let mut result = Split::default();
    let mut current: Vec<Token> = Vec::new();
    let mut pending_comments: Vec<TextRange> = Vec::new();
    let mut leading: Vec<TextRange> = Vec::new();
    // MySQL clients' `DELIMITER //`: statements end at `//` until the next DELIMITER line,
    // so that a procedure's body keeps its semicolons.
    let mut delimiter: Option<String> = None;
    // Where the file's last `/` line is: a PL/SQL unit before it keeps its semicolons.
    let last_slash_line = if flavor.slash_lines {
        last_slash_line(source)
    } else {
        None
    };
    let mut skip_until = 0;
    for token in tokenize(source, flavor) {
        if token.range.start < skip_until {
            continue;
        }
        if current.is_empty()
            && starts_line(source, token)
            && starts_client_command(source, token, flavor)
        {
            let rest = &source[token.range.end..];
            let line_end = rest.find('\n').unwrap_or(rest.len());
            // `DELIMITER //` sets where statements end until the next one.
            if token.is_word(source, "delimiter") {
                let new = rest[..line_end].trim();
                delimiter = (!new.is_empty() && new != ";").then(|| new.to_string());
            }
            skip_until = token.range.end + line_end;
            continue;
        }
        if let Some(custom) = &delimiter
            && !matches!(
                token.kind,
                TokenKind::Comment | TokenKind::String | TokenKind::QuotedIdent
            )
            && source[token.range.start..].starts_with(custom.as_str())
        {
            finish(&mut result, &mut current, &mut leading);
            skip_until = token.range.start + custom.len();
            continue;
        }
        // Oracle: a line holding only `/` ends the PL/SQL unit before it.
        if flavor.slash_lines
            && token.kind == TokenKind::Punct
            && token.text(source) == "/"
            && starts_line(source, token)
            && source[token.range.end..]
                .split('\n')
                .next()
                .is_some_and(|rest| rest.trim().is_empty())
        {
            finish(&mut result, &mut current, &mut leading);
            continue;
        }
        match token.kind {
            // A comment that never closes hides the rest of the file: it is kept as part of a
            // statement, which is then reported as unterminated instead of silently lost.
            TokenKind::Comment if token.unterminated => {
                if current.is_empty() {
                    leading = std::mem::take(&mut pending_comments);
                }
                current.push(token);
            }
            TokenKind::Comment => {
                let text = token.text(source);
                if is_dbmate_down(text) {
                    result.down_section = Some(token.range.start);
                    break;
                }
                // A query file's header (`-- name: x`, `-- fetch_job --`) starts the next
                // query even where the one above it has no final semicolon.
                if !current.is_empty()
                    && text.starts_with("--")
                    && matches!(
                        super::directives::parse_comment(text),
                        Some(super::directives::Directive::Name(_))
                    )
                {
                    finish(&mut result, &mut current, &mut leading);
                }
                result.comments.push(token.range);
                if current.is_empty() {
                    pending_comments.push(token.range);
                }
            }
            // A SQL-standard routine body, `CREATE FUNCTION ... BEGIN ATOMIC s1; s2; END`,
            // holds semicolons: the statement ends at the `;` after its `END`.
            TokenKind::Semicolon
                if delimiter.is_some()
                    || in_atomic_body(source, &current)
                    || (go_batches && is_tsql_routine(source, &current))
                    || (last_slash_line.is_some_and(|slash| slash > token.range.end)
                        && is_plsql_unit(source, &current)) =>
            {
                current.push(token);
            }
            TokenKind::Semicolon => finish(&mut result, &mut current, &mut leading),
            TokenKind::Word
                if go_batches && token.is_word(source, "go") && starts_line(source, token) =>
            {
                finish(&mut result, &mut current, &mut leading);
            }
            _ => {
                if current.is_empty() {
                    leading = std::mem::take(&mut pending_comments);
                }
                current.push(token);
            }
        }
    }
    finish(&mut result, &mut current, &mut leading);
    result
}

/// Whether `token`, the first of a statement and of its line, starts a client's command that
/// runs to the end of the line and is no SQL: psql's meta-commands (`\connect db`, `\set x 1`,
/// pg_dump's `\restrict key`) and, in MySQL, `DELIMITER //`. The splitter skips such a line;
/// whoever writes SQL for it to read must not start a statement this way.
pub fn starts_client_command(source: &str, token: Token, flavor: Flavor) -> bool {
    (token.kind == TokenKind::Punct && token.text(source) == "\\")
        || (flavor.mysql && token.is_word(source, "delimiter"))
}

/// Whether `tokens` start a T-SQL `CREATE [OR ALTER] PROC[EDURE] | FUNCTION | TRIGGER`, whose
/// body runs to the end of its `GO` batch.
pub fn is_tsql_routine(source: &str, tokens: &[Token]) -> bool {
    let mut words = tokens
        .iter()
        .filter(|token| token.kind == TokenKind::Word)
        .map(|token| token.text(source).to_ascii_lowercase());
    if words.next().as_deref() != Some("create") {
        return false;
    }
    let mut next = words.next();
    if next.as_deref() == Some("or") {
        words.next();
        next = words.next();
    }
    matches!(
        next.as_deref(),
        Some("proc" | "procedure" | "function" | "trigger")
    )
}

/// Whether `tokens` start an Oracle PL/SQL unit: `CREATE [OR REPLACE] [EDITIONABLE]
/// PROCEDURE | FUNCTION | TRIGGER | PACKAGE | TYPE BODY`.
pub fn is_plsql_unit(source: &str, tokens: &[Token]) -> bool {
    let mut words = tokens
        .iter()
        .filter(|token| token.kind == TokenKind::Word)
        .map(|token| token.text(source).to_ascii_lowercase());
    if words.next().as_deref() != Some("create") {
        return false;
    }
    words.take(4).any(|word| {
        matches!(
            word.as_str(),
            "procedure" | "function" | "trigger" | "package"
        )
    })
}

/// The offset of the last line that holds only `/`.
fn last_slash_line(source: &str) -> Option<usize> {
    let mut offset = 0;
    let mut last = None;
    for line in source.split_inclusive('\n') {
        if line.trim() == "/" {
            last = Some(offset);
        }
        offset += line.len();
    }
    last
}

/// Whether `current` is a `CREATE ... BEGIN ATOMIC` whose closing `END` has not come yet.
fn in_atomic_body(source: &str, current: &[Token]) -> bool {
    let starts_create = current
        .first()
        .is_some_and(|token| token.is_word(source, "create"));
    if !starts_create {
        return false;
    }
    let atomic = current
        .windows(2)
        .any(|pair| pair[0].is_word(source, "begin") && pair[1].is_word(source, "atomic"));
    atomic
        && !current
            .last()
            .is_some_and(|token| token.is_word(source, "end"))
}

fn finish(result: &mut Split, current: &mut Vec<Token>, leading: &mut Vec<TextRange>) {
    if let (Some(first), Some(last)) = (current.first(), current.last()) {
        result.chunks.push(Chunk {
            range: TextRange::new(first.range.start, last.range.end),
            unterminated: current.iter().any(|token| token.unterminated),
            tokens: std::mem::take(current),
            leading_comments: std::mem::take(leading),
        });
    }
}

/// T-SQL does not need semicolons: a batch may hold one statement per line. When sqlparser
/// rejects a chunk, it is cut again before every line that starts with a statement keyword at
/// parenthesis depth 0 (`SELECT` after `INSERT` and `UNION`, and `SET` inside an `UPDATE`, stay
/// where they are). `None` when that finds nothing to cut.
pub fn split_tsql_lines(source: &str, chunk: &Chunk, comments: &[TextRange]) -> Option<Vec<Chunk>> {
    const STARTS: &[&str] = &[
        "select", "insert", "update", "delete", "merge", "begin", "commit", "rollback", "save",
        "declare", "if", "else", "while", "exec", "execute", "return", "print", "set", "with",
        "end", "lock",
    ];
    let mut cuts = vec![0];
    let mut depth = 0usize;
    let mut statement_keyword = String::new();
    for (index, token) in chunk.tokens.iter().enumerate() {
        match token.text(source) {
            "(" => depth += 1,
            ")" => depth = depth.saturating_sub(1),
            _ => {}
        }
        if index == 0 || depth > 0 || token.kind != TokenKind::Word || !starts_line(source, *token)
        {
            if index == 0 {
                statement_keyword = token.text(source).to_ascii_lowercase();
            }
            continue;
        }
        let word = token.text(source).to_ascii_lowercase();
        if !STARTS.contains(&word.as_str()) {
            continue;
        }
        let previous = chunk.tokens[index - 1].text(source).to_ascii_lowercase();
        let continues = (word == "select"
            && (statement_keyword == "insert"
                || previous == "union"
                || previous == "all"
                || previous == "except"
                || previous == "intersect"))
            || (word == "set" && statement_keyword == "update")
            || (word == "with" && previous == ")");
        if !continues {
            cuts.push(index);
            statement_keyword = word;
        }
    }
    if cuts.len() < 2 {
        return None;
    }
    cuts.push(chunk.tokens.len());
    let pieces = cuts
        .windows(2)
        .map(|window| {
            let tokens = chunk.tokens[window[0]..window[1]].to_vec();
            let start = tokens[0].range.start;
            let previous_end = if window[0] == 0 {
                None
            } else {
                Some(chunk.tokens[window[0] - 1].range.end)
            };
            let leading_comments = match previous_end {
                None => chunk.leading_comments.clone(),
                Some(end) => comments
                    .iter()
                    .filter(|comment| comment.start >= end && comment.end <= start)
                    .copied()
                    .collect(),
            };
            Chunk {
                range: TextRange::new(start, tokens[tokens.len() - 1].range.end),
                unterminated: tokens.iter().any(|token| token.unterminated),
                tokens,
                leading_comments,
            }
        })
        .collect();
    Some(pieces)
}

fn starts_line(source: &str, token: Token) -> bool {
    let before = &source[..token.range.start];
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    before[line_start..].trim().is_empty()
}

fn is_dbmate_down(comment: &str) -> bool {
    comment
        .trim_start_matches('-')
        .trim()
        .eq_ignore_ascii_case("migrate:down")
}

#[cfg(test)]
mod tests {
    #[test]
    fn psql_meta_commands_are_no_statements() {
        let source = "\\restrict abc123\nCREATE TABLE t (id int);\n\\connect db\nSELECT 1;\n\\unrestrict abc123\n";
        let split = split(source, Flavor::default(), false);
        let texts: Vec<&str> = split
            .chunks
            .iter()
            .map(|chunk| &source[chunk.range.start..chunk.range.end])
            .collect();
        assert_eq!(texts, ["CREATE TABLE t (id int)", "SELECT 1"]);
    }

    use super::*;

    fn texts(source: &str) -> Vec<&str> {
        let flavor = Flavor {
            dollar_quotes: true,
            nested_comments: true,
            ..Flavor::default()
        };
        split(source, flavor, false)
            .chunks
            .iter()
            .map(|chunk| &source[chunk.range.start..chunk.range.end])
            .collect()
    }

    #[test]
    fn mysql_delimiter_blocks_keep_their_semicolons() {
        let flavor = Flavor {
            mysql: true,
            ..Flavor::default()
        };
        let source = "DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; SELECT ';//'; END //\n\
                      DELIMITER ;\nSELECT 2;";
        let chunks: Vec<&str> = split(source, flavor, false)
            .chunks
            .iter()
            .map(|chunk| &source[chunk.range.start..chunk.range.end])
            .collect();
        assert_eq!(
            chunks,
            vec![
                "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT ';//'; END",
                "SELECT 2"
            ]
        );
    }

    #[test]
    fn begin_atomic_bodies_and_query_headers() {
        let source = "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC \
                      UPDATE t SET n = n + 1 WHERE id = a; SELECT n FROM t WHERE id = a; END;\n\
                      -- fetch_job --\nSELECT 1\n-- finish_job --\nSELECT 2";
        assert_eq!(
            texts(source),
            vec![
                "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC UPDATE t SET \
                 n = n + 1 WHERE id = a; SELECT n FROM t WHERE id = a; END",
                "SELECT 1",
                "SELECT 2",
            ]
        );
    }

    #[test]
    fn splits_at_top_level_semicolons_only() {
        let source =
            "SELECT ';' ; -- a; comment\nUPDATE t SET a = $$x;y$$;\n/* c; /* nested; */ */ COMMIT";
        assert_eq!(
            texts(source),
            vec!["SELECT ';'", "UPDATE t SET a = $$x;y$$", "COMMIT"]
        );
    }

    #[test]
    fn keeps_comments_directly_above_a_statement() {
        let source = "BEGIN;\n-- name: transfer\n-- isolint: ignore write-skew\nSELECT 1;";
        let split = split(source, Flavor::default(), false);
        let comments: Vec<_> = split.chunks[1]
            .leading_comments
            .iter()
            .map(|range| &source[range.start..range.end])
            .collect();
        assert_eq!(
            comments,
            vec!["-- name: transfer", "-- isolint: ignore write-skew"]
        );
    }

    #[test]
    fn stops_at_a_dbmate_down_section() {
        let source = "-- migrate:up\nCREATE TABLE a (id int);\n-- migrate:down\nDROP TABLE a;";
        let split = split(source, Flavor::default(), false);
        assert_eq!(split.chunks.len(), 1);
        assert!(split.down_section.is_some());
    }

    #[test]
    fn go_lines_separate_tsql_batches() {
        let source = "BEGIN TRAN;\nSELECT 1\nGO\nCOMMIT";
        let split = split(source, Flavor::default(), true);
        assert_eq!(split.chunks.len(), 3);
    }

    #[test]
    fn tsql_lines_without_semicolons_are_statements() {
        let source = "BEGIN TRANSACTION\nINSERT INTO t (a)\nSELECT a FROM u\nUPDATE t\nSET a = 1\n  WHERE a = (SELECT 1\nFROM u)\nCOMMIT TRANSACTION";
        let flavor = Flavor {
            brackets: true,
            ..Flavor::default()
        };
        let split = split(source, flavor, true);
        let pieces = split_tsql_lines(source, &split.chunks[0], &split.comments).unwrap();
        let texts: Vec<&str> = pieces
            .iter()
            .map(|piece| &source[piece.range.start..piece.range.end])
            .collect();
        assert_eq!(
            texts,
            vec![
                "BEGIN TRANSACTION",
                "INSERT INTO t (a)\nSELECT a FROM u",
                "UPDATE t\nSET a = 1\n  WHERE a = (SELECT 1\nFROM u)",
                "COMMIT TRANSACTION"
            ]
        );
    }

    #[test]
    fn unterminated_quote_is_reported_not_lost() {
        let source = "SELECT 1; SELECT 'oops";
        let split = split(source, Flavor::default(), false);
        assert_eq!(split.chunks.len(), 2);
        assert!(split.chunks[1].unterminated);
    }

    #[test]
    fn an_unterminated_comment_is_reported_not_lost() {
        let source = "SELECT 1;\n/* never closed\nSELECT 2;";
        let split = split(source, Flavor::default(), false);
        assert_eq!(split.chunks.len(), 2);
        assert!(split.chunks[1].unterminated);
        assert_eq!(split.chunks[1].range.start, 10);
    }
}
