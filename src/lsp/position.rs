//! Byte offsets ↔ LSP positions, in the encoding negotiated at initialisation: the one place
//! where columns are converted for editors.

use lsp_types::{ClientCapabilities, Position, PositionEncodingKind, Range};

use crate::source::{SourceFile, TextRange};

/// How the client counts columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    /// The protocol's default.
    Utf16,
}

impl Encoding {
    /// UTF-8 when the client offers it (no conversion at all), else UTF-16, which every client
    /// understands.
    pub fn negotiate(capabilities: &ClientCapabilities) -> Encoding {
        let offered = capabilities
            .general
            .as_ref()
            .and_then(|general| general.position_encodings.as_ref());
        if offered.is_some_and(|kinds| kinds.contains(&PositionEncodingKind::UTF8)) {
            Encoding::Utf8
        } else {
            Encoding::Utf16
        }
    }

    pub fn kind(self) -> PositionEncodingKind {
        match self {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
        }
    }

    /// The position of a byte offset (rounded down to a character boundary).
    pub fn position(self, file: &SourceFile, offset: usize) -> Position {
        let offset = floor_char_boundary(&file.text, offset);
        let (line, line_start) = file.line_index.line_start_of(offset);
        let before = &file.text[line_start..offset];
        let column = match self {
            Encoding::Utf8 => before.len(),
            Encoding::Utf16 => before.encode_utf16().count(),
        };
        Position::new(saturate(line), saturate(column))
    }

    pub fn range(self, file: &SourceFile, range: TextRange) -> Range {
        Range::new(
            self.position(file, range.start),
            self.position(file, range.end),
        )
    }

    /// The byte offset of a position. A line past the end is the end of the text; a column past
    /// the end of its line is the end of that line; a column inside a character is that
    /// character's start.
    pub fn offset(self, file: &SourceFile, position: Position) -> usize {
        let Some(line_start) = file.line_index.line_start(position.line as usize) else {
            return file.text.len();
        };
        let line_end = file.text[line_start..]
            .find('\n')
            .map_or(file.text.len(), |end| line_start + end);
        let line = &file.text[line_start..line_end];
        let wanted = position.character as usize;
        let within = match self {
            Encoding::Utf8 => floor_char_boundary(line, wanted),
            Encoding::Utf16 => {
                let mut units = 0;
                line.char_indices()
                    .find(|(_, character)| {
                        units += character.len_utf16();
                        units > wanted
                    })
                    .map_or(line.len(), |(index, _)| index)
            }
        };
        line_start + within
    }
}

fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

fn saturate(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Role;

    fn file(text: &str) -> SourceFile {
        SourceFile::new("a.sql".into(), Role::Transactions, text.to_string())
    }

    #[test]
    fn utf16_counts_code_units_and_utf8_counts_bytes() {
        let file = file("-- café 😀\nSELECT 1; -- ü x");
        let x = file.text.rfind('x').unwrap();
        assert_eq!(Encoding::Utf16.position(&file, x), Position::new(1, 15));
        assert_eq!(Encoding::Utf8.position(&file, x), Position::new(1, 16));
        let smiley_end = file.text.find('\n').unwrap();
        assert_eq!(
            Encoding::Utf16.position(&file, smiley_end),
            Position::new(0, 10)
        );
        assert_eq!(
            Encoding::Utf8.position(&file, smiley_end),
            Position::new(0, 13)
        );
    }

    #[test]
    fn offsets_round_trip_in_both_encodings() {
        let file = file("-- café 😀\nSELECT 1; -- ü x\n");
        for encoding in [Encoding::Utf8, Encoding::Utf16] {
            for (offset, _) in file.text.char_indices() {
                let position = encoding.position(&file, offset);
                assert_eq!(encoding.offset(&file, position), offset, "{encoding:?}");
            }
        }
    }

    #[test]
    fn out_of_range_positions_are_clamped() {
        let file = file("ab\n😀c");
        assert_eq!(Encoding::Utf16.offset(&file, Position::new(9, 0)), 8);
        assert_eq!(Encoding::Utf16.offset(&file, Position::new(0, 99)), 2);
        // Inside the surrogate pair: the character's start.
        assert_eq!(Encoding::Utf16.offset(&file, Position::new(1, 1)), 3);
        assert_eq!(Encoding::Utf8.offset(&file, Position::new(1, 2)), 3);
    }
}
