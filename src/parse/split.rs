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
    for token in tokenize(source, flavor) {
        match token.kind {
            TokenKind::Comment => {
                let text = token.text(source);
                if is_dbmate_down(text) {
                    result.down_section = Some(token.range.start);
                    break;
                }
                result.comments.push(token.range);
                if current.is_empty() {
                    pending_comments.push(token.range);
                }
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
    fn unterminated_quote_is_reported_not_lost() {
        let source = "SELECT 1; SELECT 'oops";
        let split = split(source, Flavor::default(), false);
        assert_eq!(split.chunks.len(), 2);
        assert!(split.chunks[1].unterminated);
    }
}
