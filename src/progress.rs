//! How far a check has got: the stages a long run reports, for a progress bar.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Files read into facts and programs.
    Parse,
    /// Pairs of programs compared.
    Analyse,
}

impl Stage {
    pub fn label(self) -> &'static str {
        match self {
            Stage::Parse => "parsing files",
            Stage::Analyse => "comparing pairs of transactions",
        }
    }
}

/// Told about each stage as the check goes; called from several threads at once.
pub trait Progress: Sync {
    /// A stage begins with `total` units of work.
    fn start(&self, stage: Stage, total: usize);
    /// `done` more units of the current stage are finished.
    fn advance(&self, done: usize);
}

/// Reports nothing.
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _: Stage, _: usize) {}
    fn advance(&self, _: usize) {}
}
