//! How far a check has got: the stages a long run reports, for a progress bar.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Files read into facts and programs.
    Parse,
    /// Pairs of programs compared.
    Analyse,
    /// Bytes of database logs read by `capture`.
    Capture,
}

impl Stage {
    pub fn label(self) -> &'static str {
        match self {
            Stage::Parse => "parsing files",
            Stage::Analyse => "comparing pairs of transactions",
            Stage::Capture => "reading database logs (bytes)",
        }
    }
}

/// Told about each stage as the check goes; called from several threads at once.
pub trait Progress: Sync {
    /// A stage begins with `total` units of work.
    fn start(&self, stage: Stage, total: usize);
    /// `done` more units of the current stage are finished.
    fn advance(&self, done: usize);
    /// Whether the check is no longer wanted (the language server has a newer edit to check):
    /// the analysis then stops early and its result is incomplete, for the caller to drop.
    fn cancelled(&self) -> bool {
        false
    }
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
    /// Where to draw once the check is slow; `None` when not drawing at all.
    target: std::sync::Mutex<Option<indicatif::ProgressDrawTarget>>,
}

/// How long a check runs before the bar appears.
const QUIET_FOR: std::time::Duration = std::time::Duration::from_secs(1);

impl TerminalBar {
    pub fn stderr() -> TerminalBar {
        use std::io::IsTerminal;
        let target = std::io::stderr()
            .is_terminal()
            .then(indicatif::ProgressDrawTarget::stderr);
        TerminalBar::new(target, std::time::Instant::now())
    }

    /// A bar that draws to `target`, if any, once a second has passed since `started`.
    fn new(
        target: Option<indicatif::ProgressDrawTarget>,
        started: std::time::Instant,
    ) -> TerminalBar {
        let bar = indicatif::ProgressBar::hidden();
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{msg:>32} [{bar:30}] {pos}/{len} ({eta})")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        TerminalBar {
            bar,
            started,
            target: std::sync::Mutex::new(target),
        }
    }

    fn show_when_slow(&self) {
        if self.started.elapsed() < QUIET_FOR {
            return;
        }
        // A poisoned lock only means another thread panicked while showing the bar.
        let mut target = self
            .target
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(target) = target.take() {
            self.bar.set_draw_target(target);
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use indicatif::{ProgressDrawTarget, TermLike};

    use super::*;

    /// A terminal that keeps what is written to it.
    #[derive(Debug, Default, Clone)]
    struct Screen(Arc<Mutex<String>>);

    impl Screen {
        fn text(&self) -> String {
            self.0.lock().map(|text| text.clone()).unwrap_or_default()
        }
    }

    impl TermLike for Screen {
        fn width(&self) -> u16 {
            100
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, line: &str) -> std::io::Result<()> {
            self.write_str(&format!("{line}\n"))
        }
        fn write_str(&self, text: &str) -> std::io::Result<()> {
            if let Ok(mut screen) = self.0.lock() {
                screen.push_str(text);
            }
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn run(bar: &TerminalBar) {
        bar.start(Stage::Analyse, 8192);
        bar.advance(4096);
        bar.bar.tick();
    }

    #[test]
    fn the_bar_appears_only_after_a_second() {
        let screen = Screen::default();
        let target = ProgressDrawTarget::term_like(Box::new(screen.clone()));
        run(&TerminalBar::new(Some(target), Instant::now()));
        assert_eq!(screen.text(), "");

        let screen = Screen::default();
        let target = ProgressDrawTarget::term_like(Box::new(screen.clone()));
        let long_ago = Instant::now()
            .checked_sub(Duration::from_secs(2))
            .unwrap_or_else(Instant::now);
        run(&TerminalBar::new(Some(target), long_ago));
        let shown = screen.text();
        assert!(
            shown.contains("comparing pairs of transactions"),
            "{shown:?}"
        );
        assert!(shown.contains("4096/8192"), "{shown:?}");
    }

    #[test]
    fn nothing_is_drawn_without_a_terminal() {
        let long_ago = Instant::now()
            .checked_sub(Duration::from_secs(2))
            .unwrap_or_else(Instant::now);
        let bar = TerminalBar::new(None, long_ago);
        run(&bar);
        assert!(bar.bar.is_hidden());
    }
}
