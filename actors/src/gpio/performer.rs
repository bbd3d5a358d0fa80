//! The GPIO performer: sets pins up, drives outputs on command, samples inputs.
//!
//! The shell's performer thread calls [`Performer::perform`] for each [`GpioCommand`] and, in
//! between, [`GpioPerformer::poll`] every [`GpioPerformer::poll_interval`]; `poll` returns the
//! debounced `GpioEdge` events. On stop, [`Performer::release`] returns every pin to an input
//! without bias.

use std::time::Duration;

use vigil_events::kinds::{GpioEdge, OutputChanged};
use vigil_events::{NewEvent, Source, UtcMicros};

use super::debounce::Debouncer;
use super::pins::{check_pwm, EdgeMode, PinBackend, PinError};
use super::{GpioCommand, GpioPlan, PinRole};
use crate::core::Performer;

/// Setting the pins up failed; nothing is left configured.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot set up gpio pin `{name}` (BCM {pin}) on the {backend} backend: {source}")]
pub struct GpioSetupError {
    /// Pin name.
    pub name: String,
    /// BCM number.
    pub pin: u8,
    /// Backend.
    pub backend: String,
    /// What the backend said.
    pub source: PinError,
}

#[derive(Debug)]
struct Input {
    name: String,
    bcm: u8,
    edge: EdgeMode,
    debouncer: Debouncer,
    /// The last read error, reported once until the pin reads again.
    failing: bool,
}

/// The rule name recorded on `OutputChanged` when pins are released at stop.
pub const RELEASE_RULE: &str = "release";

/// The GPIO performer. See the module docs.
pub struct GpioPerformer {
    backend: Box<dyn PinBackend>,
    inputs: Vec<Input>,
    /// Outputs and PWM outputs: (name, bcm).
    outputs: Vec<(String, u8)>,
    poll_interval: Duration,
    released: bool,
}

impl std::fmt::Debug for GpioPerformer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpioPerformer")
            .field("backend", &self.backend.describe())
            .field("inputs", &self.inputs)
            .field("outputs", &self.outputs)
            .field("released", &self.released)
            .finish()
    }
}

impl GpioPerformer {
    /// Set every pin of `plan` up on `backend` (outputs at their rest settings). On error the
    /// pins set up so far are released again.
    pub fn new(backend: Box<dyn PinBackend>, plan: &GpioPlan) -> Result<Self, GpioSetupError> {
        let mut me = GpioPerformer {
            backend,
            inputs: Vec::new(),
            outputs: Vec::new(),
            poll_interval: plan.poll_interval,
            released: false,
        };
        for p in &plan.pins {
            let result = match p.role {
                PinRole::Input {
                    pull,
                    edge,
                    debounce,
                } => me.backend.setup_input(p.bcm, pull).map(|()| {
                    me.inputs.push(Input {
                        name: p.name.clone(),
                        bcm: p.bcm,
                        edge,
                        debouncer: Debouncer::new(debounce),
                        failing: false,
                    })
                }),
                PinRole::Output { rest_high } => me
                    .backend
                    .setup_output(p.bcm, rest_high)
                    .map(|()| me.outputs.push((p.name.clone(), p.bcm))),
                PinRole::Pwm {
                    frequency_hz,
                    duty_percent,
                } => me.backend.setup_output(p.bcm, false).and_then(|()| {
                    me.outputs.push((p.name.clone(), p.bcm));
                    if duty_percent > 0.0 {
                        me.backend.set_pwm(p.bcm, frequency_hz, duty_percent)
                    } else {
                        Ok(())
                    }
                }),
            };
            if let Err(source) = result {
                let backend = me.backend.describe();
                let _ = me.release_all();
                return Err(GpioSetupError {
                    name: p.name.clone(),
                    pin: p.bcm,
                    backend,
                    source,
                });
            }
        }
        Ok(me)
    }

    /// How often the thread should call [`GpioPerformer::poll`].
    pub fn poll_interval(&self) -> Duration {
        self.poll_interval
    }

    /// Sample every input at station time `now`; returns the debounced edges as `GpioEdge`
    /// events (stamped `now`, with `at_us` the first change).
    pub fn poll(&mut self, now: UtcMicros) -> Vec<NewEvent> {
        if self.released {
            return Vec::new();
        }
        let mut out = Vec::new();
        for input in &mut self.inputs {
            match self.backend.read(input.bcm, now) {
                Ok(high) => {
                    input.failing = false;
                    if let Some(d) = input.debouncer.feed(high, now) {
                        if input.edge.reports(d.edge) {
                            out.push(NewEvent::new(
                                now,
                                Source::Gpio,
                                GpioEdge {
                                    name: input.name.clone(),
                                    pin: input.bcm,
                                    edge: d.edge,
                                    at_us: d.at,
                                },
                            ));
                        }
                    }
                }
                Err(e) => {
                    if !input.failing {
                        tracing::error!(pin = input.bcm, name = %input.name, error = %e, "gpio input read failed");
                        input.failing = true;
                    }
                }
            }
        }
        out
    }

    fn release_all(&mut self) -> Vec<(String, u8)> {
        let mut released = Vec::new();
        for input in &self.inputs {
            if let Err(e) = self.backend.release(input.bcm) {
                tracing::error!(pin = input.bcm, error = %e, "gpio release failed");
            }
        }
        for (name, bcm) in &self.outputs {
            match self.backend.release(*bcm) {
                Ok(()) => released.push((name.clone(), *bcm)),
                Err(e) => tracing::error!(pin = *bcm, error = %e, "gpio release failed"),
            }
        }
        self.released = true;
        released
    }
}

impl Performer for GpioPerformer {
    type Command = GpioCommand;

    fn poll_interval(&self) -> Option<std::time::Duration> {
        Some(self.poll_interval)
    }

    fn poll(&mut self, now: UtcMicros) -> Vec<NewEvent> {
        GpioPerformer::poll(self, now)
    }

    fn perform(&mut self, cmd: GpioCommand, _now: UtcMicros) -> Vec<NewEvent> {
        if self.released {
            tracing::warn!(?cmd, "gpio command after release ignored");
            return Vec::new();
        }
        let result = match &cmd {
            GpioCommand::SetLevel { pin, high, .. } => self.backend.write(*pin, *high),
            GpioCommand::SetPwm {
                pin,
                frequency_hz,
                duty_percent,
                ..
            } => check_pwm(*pin, *frequency_hz, *duty_percent)
                .and_then(|()| self.backend.set_pwm(*pin, *frequency_hz, *duty_percent)),
        };
        if let Err(e) = result {
            // There is no GPIO fault kind in the catalogue yet; the failure goes to the log.
            tracing::error!(?cmd, error = %e, "gpio command failed");
        }
        Vec::new()
    }

    fn release(&mut self, now: UtcMicros) -> Vec<NewEvent> {
        if self.released {
            return Vec::new();
        }
        self.release_all()
            .into_iter()
            .map(|(name, pin)| {
                NewEvent::new(
                    now,
                    Source::Gpio,
                    OutputChanged {
                        name,
                        pin,
                        high: false,
                        rule: RELEASE_RULE.to_string(),
                    },
                )
            })
            .collect()
    }
}
