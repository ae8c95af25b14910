//! A small, forgiving SQL lexer: enough to split statements, find lock clauses and placeholders
//! sqlparser does not accept, and read DDL when sqlparser cannot.
//!
//! Architecture Invariant: lexing never fails. Unterminated strings, quotes and comments run to
//! the end of the input and are reported through `Token::unterminated`.

use crate::source::TextRange;

/// Lexical conventions that differ between engines.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flavor {
    /// PostgreSQL / CockroachDB `$tag$ ... $tag$` strings and `E'...'` escapes.
    pub dollar_quotes: bool,
    /// MySQL strings where a backslash escapes the next character; `#` comments; backticks.
    pub mysql: bool,
    /// SQL Server / SQLite `[bracketed identifiers]`.
    pub brackets: bool,
    /// PostgreSQL nests `/* */` comments.
    pub nested_comments: bool,
    /// Oracle SQL*Plus scripts end a PL/SQL unit (`CREATE PROCEDURE ... END;`) with a line
    /// holding only `/`.
    pub slash_lines: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Word,
    QuotedIdent,
    String,
    Number,
    /// `$1`, `:name`, `@name`, `?`.
    Param,
    Semicolon,
    Punct,
    Comment,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub range: TextRange,
    pub unterminated: bool,
}

impl Token {
    pub fn text<'a>(&self, source: &'a str) -> &'a str {
        &source[self.range.start..self.range.end]
    }

    /// Case-insensitive keyword test for words.
    pub fn is_word(&self, source: &str, word: &str) -> bool {
        self.kind == TokenKind::Word && self.text(source).eq_ignore_ascii_case(word)
    }

    /// The identifier this token names, unquoted, lowercased when it was not quoted.
    pub fn ident(&self, source: &str) -> Option<String> {
        let text = self.text(source);
        match self.kind {
            TokenKind::Word => Some(text.to_ascii_lowercase()),
            TokenKind::QuotedIdent if text.len() >= 2 => {
                // Without its quotes; a name that never closes has only the opening one.
                let mut inner = text.chars();
                inner.next();
                if !self.unterminated {
                    inner.next_back();
                }
                Some(inner.as_str().to_string())
            }
            _ => None,
        }
    }
}

/// Lexes `source` from `start` to `end`, comments included.
pub fn tokenize(source: &str, flavor: Flavor) -> Vec<Token> {
    Lexer {
        bytes: source.as_bytes(),
        source,
        position: 0,
        flavor,
    }
    .run()
}

/// Lexes `range` of `source`, comments dropped, with ranges relative to the whole `source`.
pub fn tokenize_range(source: &str, range: TextRange, flavor: Flavor) -> Vec<Token> {
    tokenize(&source[range.start..range.end], flavor)
        .into_iter()
        .filter(|token| token.kind != TokenKind::Comment)
        .map(|mut token| {
            token.range = TextRange::new(
                token.range.start + range.start,
                token.range.end + range.start,
            );
            token
        })
        .collect()
}

struct Lexer<'a> {
    bytes: &'a [u8],
    source: &'a str,
    position: usize,
    flavor: Flavor,
}

impl Lexer<'_> {
    fn run(mut self) -> Vec<Token> {
        let mut tokens = Vec::new();
        while let Some(token) = self.next_token() {
            tokens.push(token);
        }
        tokens
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.position + ahead).copied()
    }

    fn token(&mut self, kind: TokenKind, start: usize, unterminated: bool) -> Token {
        // A backslash escape at the very end can step past the input.
        self.position = self.position.min(self.bytes.len());
        Token {
            kind,
            range: TextRange::new(start, self.position),
            unterminated,
        }
    }

    fn next_token(&mut self) -> Option<Token> {
        while self.peek(0).is_some_and(|byte| byte.is_ascii_whitespace()) {
            self.position += 1;
        }
        let start = self.position;
        let byte = self.peek(0)?;
        let next = self.peek(1);
        let token = match byte {
            b'-' if next == Some(b'-') => self.line_comment(start),
            b'#' if self.flavor.mysql => self.line_comment(start),
            b'/' if next == Some(b'*') => self.block_comment(start),
            b'\'' => self.quoted(start, b'\'', TokenKind::String, self.flavor.mysql),
            b'"' => self.quoted(start, b'"', TokenKind::QuotedIdent, false),
            b'`' if self.flavor.mysql => self.quoted(start, b'`', TokenKind::QuotedIdent, false),
            b'[' if self.flavor.brackets => self.quoted(start, b']', TokenKind::QuotedIdent, false),
            b'e' | b'E' if next == Some(b'\'') && self.flavor.dollar_quotes => {
                self.position += 1;
                self.quoted(start, b'\'', TokenKind::String, true)
            }
            b'n' | b'N' | b'x' | b'X' | b'b' | b'B' if next == Some(b'\'') => {
                self.position += 1;
                self.quoted(start, b'\'', TokenKind::String, self.flavor.mysql)
            }
            b'$' if self.flavor.dollar_quotes && self.dollar_tag_len().is_some() => {
                self.dollar_quoted(start)
            }
            b'$' if next.is_some_and(|n| n.is_ascii_digit()) => {
                self.position += 1;
                self.eat_while(|b| b.is_ascii_digit());
                self.token(TokenKind::Param, start, false)
            }
            b':' if next.is_some_and(is_ident_start) && self.previous_is_not_colon(start) => {
                self.position += 1;
                self.eat_while(is_ident_continue);
                self.token(TokenKind::Param, start, false)
            }
            b'@' if next.is_some_and(is_ident_start) => {
                self.position += 1;
                self.eat_while(is_ident_continue);
                self.token(TokenKind::Param, start, false)
            }
            b'?' if !next.is_some_and(|n| n == b'|' || n == b'&') => {
                self.position += 1;
                self.token(TokenKind::Param, start, false)
            }
            b';' => {
                self.position += 1;
                self.token(TokenKind::Semicolon, start, false)
            }
            b'0'..=b'9' => {
                self.eat_while(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_');
                self.token(TokenKind::Number, start, false)
            }
            b if is_ident_start(b) => {
                self.eat_while(is_ident_continue);
                self.token(TokenKind::Word, start, false)
            }
            _ => {
                // Advance by one whole character so ranges stay on character boundaries.
                let width = self.source[start..]
                    .chars()
                    .next()
                    .map_or(1, char::len_utf8);
                self.position += width;
                self.token(TokenKind::Punct, start, false)
            }
        };
        Some(token)
    }

    /// Whether the colon at `start` can open a `:name`: not when it is the second colon of a
    /// `::` cast, but again when it follows one (`x:::SCHEMA.t`, a cast to a templated type).
    fn previous_is_not_colon(&self, start: usize) -> bool {
        let colons = self.bytes[..start]
            .iter()
            .rev()
            .take_while(|byte| **byte == b':')
            .count();
        colons != 1
    }

    fn eat_while(&mut self, keep: impl Fn(u8) -> bool) {
        while self.peek(0).is_some_and(&keep) {
            self.position += 1;
        }
    }

    fn line_comment(&mut self, start: usize) -> Token {
        self.eat_while(|b| b != b'\n');
        self.token(TokenKind::Comment, start, false)
    }

    fn block_comment(&mut self, start: usize) -> Token {
        self.position += 2;
        let mut depth = 1usize;
        while depth > 0 {
            match (self.peek(0), self.peek(1)) {
                (None, _) => return self.token(TokenKind::Comment, start, true),
                (Some(b'*'), Some(b'/')) => {
                    depth -= 1;
                    self.position += 2;
                }
                (Some(b'/'), Some(b'*')) if self.flavor.nested_comments => {
                    depth += 1;
                    self.position += 2;
                }
                _ => self.position += 1,
            }
        }
        self.token(TokenKind::Comment, start, false)
    }

    fn quoted(&mut self, start: usize, close: u8, kind: TokenKind, backslash: bool) -> Token {
        self.position += 1;
        loop {
            match self.peek(0) {
                None => return self.token(kind, start, true),
                Some(b'\\') if backslash => self.position += 2,
                Some(byte) if byte == close => {
                    self.position += 1;
                    // A doubled quote is an escaped quote.
                    if close != b']' && self.peek(0) == Some(close) {
                        self.position += 1;
                    } else {
                        break;
                    }
                }
                Some(_) => self.position += 1,
            }
        }
        self.position = self.position.min(self.bytes.len());
        self.token(kind, start, false)
    }

    /// Length of a `$tag$` opener at the current position, if there is one.
    fn dollar_tag_len(&self) -> Option<usize> {
        let rest = &self.bytes[self.position + 1..];
        let tag_len = rest
            .iter()
            .take_while(|b| **b != b'$' && is_ident_continue(**b))
            .count();
        if rest.get(tag_len) == Some(&b'$') && !rest.first().is_some_and(|b| b.is_ascii_digit()) {
            Some(tag_len + 2)
        } else {
            None
        }
    }

    fn dollar_quoted(&mut self, start: usize) -> Token {
        let tag_len = self.dollar_tag_len().unwrap_or(2);
        let tag = &self.source[start..start + tag_len];
        self.position += tag_len;
        match self.source[self.position..].find(tag) {
            Some(found) => {
                self.position += found + tag_len;
                self.token(TokenKind::String, start, false)
            }
            None => {
                self.position = self.bytes.len();
                self.token(TokenKind::String, start, true)
            }
        }
    }
}

fn is_ident_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_' || byte >= 0x80
}

fn is_ident_continue(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$' || byte >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str, flavor: Flavor) -> Vec<(TokenKind, &str)> {
        tokenize(source, flavor)
            .into_iter()
            .map(|token| (token.kind, token.text(source)))
            .collect()
    }

    #[test]
    fn placeholders_of_every_engine_are_params() {
        let tokens = kinds(
            "a = $1 AND b = :name AND c = @x AND d = ? AND e::int",
            Flavor::default(),
        );
        let params: Vec<_> = tokens
            .iter()
            .filter(|(kind, _)| *kind == TokenKind::Param)
            .map(|(_, text)| *text)
            .collect();
        assert_eq!(params, vec!["$1", ":name", "@x", "?"]);
    }

    #[test]
    fn dollar_quotes_hide_semicolons() {
        let flavor = Flavor {
            dollar_quotes: true,
            ..Flavor::default()
        };
        let tokens = kinds("DO $body$ BEGIN; END $body$;", flavor);
        assert_eq!(tokens[1], (TokenKind::String, "$body$ BEGIN; END $body$"));
        assert_eq!(tokens[2].0, TokenKind::Semicolon);
    }

    #[test]
    fn unterminated_string_runs_to_the_end() {
        let tokens = tokenize("SELECT 'abc", Flavor::default());
        assert!(tokens[1].unterminated);
        assert_eq!(tokens[1].range.end, 11);
    }

    #[test]
    fn a_backslash_at_the_end_stays_inside_the_input() {
        let flavor = Flavor {
            mysql: true,
            ..Flavor::default()
        };
        let source = "SELECT 'abc\\";
        let tokens = tokenize(source, flavor);
        assert_eq!(tokens.last().unwrap().range.end, source.len());
    }

    #[test]
    fn mysql_backslash_escapes_and_backticks() {
        let flavor = Flavor {
            mysql: true,
            ..Flavor::default()
        };
        let tokens = kinds(r"SELECT `a;b` FROM t WHERE x = 'it\'s;' # c;", flavor);
        assert_eq!(tokens[1], (TokenKind::QuotedIdent, "`a;b`"));
        assert!(tokens.iter().all(|(kind, _)| *kind != TokenKind::Semicolon));
    }

    #[test]
    fn an_unterminated_quoted_name_ending_in_a_wide_character_is_read_whole() {
        let flavor = Flavor {
            mysql: true,
            ..Flavor::default()
        };
        let source = "CREATE TABLE `reserv\u{fffd}";
        let tokens = tokenize(source, flavor);
        let name = tokens.last().unwrap();
        assert!(name.unterminated);
        assert_eq!(name.ident(source).as_deref(), Some("reserv\u{fffd}"));
        let closed = tokenize("`a\u{fffd}`", flavor);
        assert_eq!(closed[0].ident("`a\u{fffd}`").as_deref(), Some("a\u{fffd}"));
    }
}
