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

/// A progress bar on stderr, shown only when stderr is a terminal and the check has run for
/// more than a second: quick checks and piped output stay quiet.
pub struct TerminalBar {
    bar: indicatif::ProgressBar,
    started: std::time::Instant,
    terminal: bool,
    shown: std::sync::atomic::AtomicBool,
}

/// How long a check runs before the bar appears.
const QUIET_FOR: std::time::Duration = std::time::Duration::from_secs(1);

impl TerminalBar {
    pub fn stderr() -> TerminalBar {
        use std::io::IsTerminal;
        let bar = indicatif::ProgressBar::hidden();
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{msg:>32} [{bar:30}] {pos}/{len} ({eta})")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        TerminalBar {
            bar,
            started: std::time::Instant::now(),
            terminal: std::io::stderr().is_terminal(),
            shown: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn show_when_slow(&self) {
        use std::sync::atomic::Ordering;
        if self.terminal
            && !self.shown.load(Ordering::Relaxed)
            && self.started.elapsed() >= QUIET_FOR
            && !self.shown.swap(true, Ordering::Relaxed)
        {
            self.bar
                .set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
    }

    /// Removes the bar, so that what follows on stderr starts on a clean line.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for TerminalBar {
    fn start(&self, stage: Stage, total: usize) {
        self.bar.set_message(stage.label());
        self.bar
            .set_length(u64::try_from(total).unwrap_or(u64::MAX));
        self.bar.set_position(0);
        self.show_when_slow();
    }

    fn advance(&self, done: usize) {
        self.bar.inc(u64::try_from(done).unwrap_or(u64::MAX));
        self.show_when_slow();
    }
}
