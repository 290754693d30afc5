//! Rendering only: plans, apply reports, diagnostics, graphs and live progress. Nothing
//! depends on `ui`; it depends on the engine's plain values and events.

pub mod diagnostics;
pub mod drift;
pub mod events;
pub mod outputs;
pub mod plan;
pub mod progress;

use std::io::IsTerminal;

/// Output settings for one run: colour only on a terminal and never under `NO_COLOR`.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub color: bool,
    /// stderr is a terminal: progress may redraw in place.
    pub live: bool,
}

impl Style {
    pub fn detect(no_color_flag: bool) -> Self {
        let no_color = no_color_flag || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = !no_color && std::io::stdout().is_terminal();
        console::set_colors_enabled(color);
        console::set_colors_enabled_stderr(!no_color && std::io::stderr().is_terminal());
        Style {
            color,
            live: std::io::stderr().is_terminal() && std::env::var_os("CI").is_none(),
        }
    }

    pub fn plain() -> Self {
        Style {
            color: false,
            live: false,
        }
    }
}
