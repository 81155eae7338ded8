//! Progress of long work a person waits for (a rebuild of the read models, the demo
//! load): a bar with the rate and the time left when standard error is a terminal, and
//! otherwise — a service log, CI, a pipe — one line every few seconds, so a silent wait
//! never looks like a hang.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// How often a line is written when there is no terminal.
const LINE_EVERY: Duration = Duration::from_secs(5);

/// One piece of long work: `what` (e.g. "rebuilding the read models") counted in `unit`s.
pub struct Progress {
    what: &'static str,
    unit: &'static str,
    bar: Option<ProgressBar>,
    started: Instant,
    last_line: Instant,
}

impl Progress {
    pub fn new(what: &'static str, unit: &'static str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            let template = format!(
                "{{msg}} [{{bar:40}}] {{human_pos}}/{{human_len}} {unit} ({{percent}}%), {{rate}}, {{eta}} left"
            );
            bar.set_style(
                ProgressStyle::with_template(&template)
                    .map(|style| {
                        style
                            .progress_chars("=> ")
                            .with_key("rate", move |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                                let _ = write!(w, "{:.0} {unit}/s", state.per_sec());
                            })
                    })
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_message(what);
            bar
        });
        let now = Instant::now();
        Self {
            what,
            unit,
            bar,
            started: now,
            last_line: now,
        }
    }

    /// `done` of `total` so far.
    pub fn set(&mut self, done: u64, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_position(done);
            return;
        }
        if self.last_line.elapsed() < LINE_EVERY {
            return;
        }
        self.last_line = Instant::now();
        eprintln!("{}", self.line(done, total));
    }

    /// The line written without a terminal: how far, how fast, how long still.
    fn line(&self, done: u64, total: u64) -> String {
        let seconds = self.started.elapsed().as_secs_f64();
        let rate = if seconds > 0.0 {
            done as f64 / seconds
        } else {
            0.0
        };
        let percent = (total > 0).then(|| done as f64 * 100.0 / total as f64);
        let left = (rate > 0.0 && total > done).then(|| (total - done) as f64 / rate);
        let mut line = format!("{}: {done} of {total} {}", self.what, self.unit);
        if let Some(percent) = percent {
            line.push_str(&format!(" ({percent:.0}%)"));
        }
        line.push_str(&format!(", {rate:.0} {}/s", self.unit));
        if let Some(left) = left {
            line.push_str(&format!(", about {left:.0} s left"));
        }
        line
    }

    /// The work is done: the bar is cleared (the caller prints its own summary).
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_says_how_far_how_fast_and_how_long_still() {
        let mut progress = Progress::new("rebuilding the read models", "events");
        progress.bar = None;
        progress.started = Instant::now() - Duration::from_secs(10);
        assert_eq!(
            progress.line(1_000, 4_000),
            "rebuilding the read models: 1000 of 4000 events (25%), 100 events/s, about 30 s left"
        );
        assert_eq!(
            progress.line(4_000, 4_000),
            "rebuilding the read models: 4000 of 4000 events (100%), 400 events/s"
        );
    }
}
