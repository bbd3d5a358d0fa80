//! Cores that are built from the station config *as recorded in the log*.
//!
//! A starting supervisor appends `SupervisorStarted` and then `ConfigLoaded` with the config
//! text. A [`Configured`] core holds nothing until it sees that `ConfigLoaded`; then it builds
//! its inner core from the recorded text and hands it the events it buffered meanwhile. Live
//! runs and replays therefore build the inner core from the same bytes at the same point, and
//! derive the same decisions. A `ConfigChanged` rebuilds it.

use vigil_config::Config;
use vigil_events::{Envelope, Event, EventKind, Source, UtcMicros};

use crate::core::{Core, Intent};

/// Builds an inner core from a config; `None` when the config disables it.
pub type Build<C> = fn(&Config) -> Option<C>;

/// A core built from the recorded config. See the module docs.
pub struct Configured<C: Core> {
    build: Build<C>,
    source: Source,
    subscriptions: &'static [EventKind],
    decisions: &'static [EventKind],
    inner: Option<C>,
    buffered: Vec<Envelope>,
    /// Why the recorded config could not be used, if it could not.
    pub config_error: Option<String>,
}

impl<C: Core> std::fmt::Debug for Configured<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Configured")
            .field("source", &self.source)
            .field("built", &self.inner.is_some())
            .finish_non_exhaustive()
    }
}

impl<C: Core> Configured<C> {
    /// A core of `source` built by `build` from the recorded config. `subscriptions` must list
    /// what the inner core consumes, plus `SupervisorStarted`, `ConfigLoaded` and
    /// `ConfigChanged`; `decisions` what it emits.
    pub fn new(
        source: Source,
        subscriptions: &'static [EventKind],
        decisions: &'static [EventKind],
        build: Build<C>,
    ) -> Self {
        Configured {
            build,
            source,
            subscriptions,
            decisions,
            inner: None,
            buffered: Vec::new(),
            config_error: None,
        }
    }

    /// The inner core, once built.
    pub fn inner(&self) -> Option<&C> {
        self.inner.as_ref()
    }

    fn rebuild(&mut self, text: &str, origin: &str) -> Vec<Intent<C::Command>> {
        match Config::parse(text, origin) {
            Ok(cfg) => {
                self.config_error = None;
                self.inner = (self.build)(&cfg);
            }
            Err(e) => {
                self.config_error = Some(e.to_string());
                self.inner = None;
            }
        }
        let mut out = Vec::new();
        let buffered = std::mem::take(&mut self.buffered);
        if let Some(inner) = self.inner.as_mut() {
            for env in &buffered {
                if inner.subscriptions().contains(&env.kind) {
                    out.extend(inner.on_event(env));
                }
            }
        }
        out
    }
}

impl<C: Core> Core for Configured<C> {
    type Command = C::Command;

    fn source(&self) -> Source {
        self.source
    }

    fn subscriptions(&self) -> &'static [EventKind] {
        self.subscriptions
    }

    fn decisions(&self) -> &'static [EventKind] {
        self.decisions
    }

    fn on_event(&mut self, env: &Envelope) -> Vec<Intent<C::Command>> {
        let mut out = match &env.payload {
            Event::ConfigLoaded(c) => self.rebuild(&c.text, &c.path),
            Event::ConfigChanged(c) => self.rebuild(&c.text, &c.path),
            _ if self.inner.is_none() => {
                // Before the config: keep what the inner core will need (the start marker).
                if env.kind == EventKind::SupervisorStarted {
                    self.buffered.clear();
                }
                self.buffered.push(env.clone());
                return Vec::new();
            }
            _ => Vec::new(),
        };
        if let Some(inner) = self.inner.as_mut() {
            if inner.subscriptions().contains(&env.kind) {
                out.extend(inner.on_event(env));
            }
        }
        out
    }

    fn is_decision(&self, env: &Envelope) -> bool {
        match &self.inner {
            Some(inner) => inner.is_decision(env),
            None => env.source == self.source && self.decisions.contains(&env.kind),
        }
    }

    fn next_deadline(&self) -> Option<UtcMicros> {
        self.inner.as_ref().and_then(|c| c.next_deadline())
    }

    fn on_tick(&mut self, now: UtcMicros) -> Vec<Intent<C::Command>> {
        match self.inner.as_mut() {
            Some(c) => c.on_tick(now),
            None => Vec::new(),
        }
    }
}
