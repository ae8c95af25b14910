//! Source files, byte ranges and line/column conversion.
//!
//! Architecture Invariant: this module knows nothing about SQL. Every span inside the tool is a
//! byte range into one `SourceFile`; conversion to line and column happens only here.

use std::path::PathBuf;

/// Index of a file in the analysed set.
pub type FileId = usize;

/// A half-open byte range `[start, end)` into a file's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TextRange {
    pub start: usize,
    pub end: usize,
}

impl TextRange {
    pub fn new(start: usize, end: usize) -> Self {
        TextRange { start, end }
    }
    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a file contributes to the analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Migrations: DDL builds the catalog; DML is a backfill, not part of the workload.
    Schema,
    /// Transaction scripts: the concurrent workload.
    Transactions,
}

#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as shown to users (relative to the working directory when possible).
    pub path: PathBuf,
    pub role: Role,
    pub text: String,
    pub line_index: LineIndex,
}

impl SourceFile {
    pub fn new(path: PathBuf, role: Role, text: String) -> Self {
        let line_index = LineIndex::new(&text);
        SourceFile {
            path,
            role,
            text,
            line_index,
        }
    }

    pub fn display_path(&self) -> String {
        self.path.to_string_lossy().replace('\\', "/")
    }

    /// The text of a range, clamped to the file and to character boundaries.
    pub fn slice(&self, range: TextRange) -> &str {
        let start = floor_char_boundary(&self.text, range.start);
        let end = floor_char_boundary(&self.text, range.end.max(start));
        &self.text[start..end]
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        self.line_index.line_col(&self.text, offset)
    }
}

fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Start offsets of every line, for offset → line/column conversion.
#[derive(Debug, Clone, Default)]
pub struct LineIndex {
    line_starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, byte)| *byte == b'\n')
                .map(|(index, _)| index + 1),
        );
        LineIndex { line_starts }
    }

    /// 1-based line and 1-based column counted in characters.
    pub fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(text, offset);
        let line = self.line_starts.partition_point(|start| *start <= offset) - 1;
        let line_start = self.line_starts[line];
        let column = text[line_start..offset].chars().count() + 1;
        (line + 1, column)
    }

    /// 0-based line and column counted in UTF-16 code units, as LSP clients expect by default.
    pub fn line_col_utf16(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(text, offset);
        let line = self.line_starts.partition_point(|start| *start <= offset) - 1;
        let line_start = self.line_starts[line];
        let column = text[line_start..offset].encode_utf16().count();
        (line, column)
    }

    /// The 0-based line of a byte offset and the offset where that line starts.
    pub fn line_start_of(&self, offset: usize) -> (usize, usize) {
        let line = self.line_starts.partition_point(|start| *start <= offset) - 1;
        (line, self.line_starts[line])
    }

    /// The byte offset where 0-based `line` starts, if the text has that line.
    pub fn line_start(&self, line: usize) -> Option<usize> {
        self.line_starts.get(line).copied()
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_not_bytes() {
        let text = "ab\nçd€x\n";
        let index = LineIndex::new(text);
        assert_eq!(index.line_col(text, 0), (1, 1));
        assert_eq!(index.line_col(text, 3), (2, 1));
        let x = text.find('x').unwrap();
        assert_eq!(index.line_col(text, x), (2, 4));
        assert_eq!(index.line_col_utf16(text, x), (1, 3));
    }

    #[test]
    fn offsets_inside_a_character_round_down() {
        let text = "€";
        let index = LineIndex::new(text);
        assert_eq!(index.line_col(text, 1), (1, 1));
    }
}
