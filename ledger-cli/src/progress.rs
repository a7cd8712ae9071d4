//! Progress bars on a terminal; nothing at all when stderr is piped.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar counting `unit` (e.g. "postings"), hidden automatically when not on a terminal.
pub fn bar(message: &'static str, unit: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(0);
    let template = format!("{{msg:>12}} [{{bar:40}}] {{human_pos}}/{{human_len}} {unit} ({{per_sec}}, {{eta}} left)");
    bar.set_style(ProgressStyle::with_template(&template).expect("valid template").progress_chars("=> "));
    bar.set_message(message);
    bar
}

/// A spinner for work whose size is unknown up front.
pub fn spinner(message: &'static str) -> ProgressBar {
    let spinner = ProgressBar::new_spinner();
    spinner.set_message(message);
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner
}

/// A callback for the store's `(done, total)` progress reports.
pub fn reporter(bar: &ProgressBar) -> impl Fn(u64, u64) + Sync + '_ {
    move |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    }
}

/// A bar counting bytes of a file of known size.
pub fn bytes_bar(message: &'static str, total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    let template = "{msg:>12} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)";
    bar.set_style(ProgressStyle::with_template(template).expect("valid template").progress_chars("=> "));
    bar.set_message(message);
    bar
}
