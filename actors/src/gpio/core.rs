//! The GPIO actor's pure core ([`GpioCore`]): rule outputs as decisions, holds as deadlines.
//! See the module docs of [`crate::gpio`] for the rules.

use std::collections::BTreeMap;

use vigil_events::kinds::{OutputChanged, PwmChanged};
use vigil_events::{Envelope, Event, EventKind, Source, UtcMicros};

use super::performer;
use super::plan::{plain_fields, GpioPlan, PinRole, Rule, RuleAction};
use crate::core::{Core, Intent};

/// What the GPIO core asks its performer to do.
#[derive(Clone, Debug, PartialEq)]
pub enum GpioCommand {
    /// Drive an output.
    SetLevel {
        /// Pin name.
        name: String,
        /// BCM number.
        pin: u8,
        /// Level.
        high: bool,
    },
    /// Set a PWM output.
    SetPwm {
        /// Pin name.
        name: String,
        /// BCM number.
        pin: u8,
        /// Frequency, Hz.
        frequency_hz: f64,
        /// Duty, percent.
        duty_percent: f64,
    },
}

/// The state of an output or PWM pin.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Setting {
    Level(bool),
    Pwm {
        frequency_hz: f64,
        duty_percent: f64,
    },
}

#[derive(Clone, Debug, PartialEq)]
struct Hold {
    until: UtcMicros,
    rule: String,
    restore: Setting,
}

#[derive(Clone, Debug, PartialEq)]
struct Out {
    bcm: u8,
    current: Setting,
    hold: Option<Hold>,
}

/// The GPIO actor's pure core. See the module docs.
#[derive(Clone, Debug, PartialEq)]
pub struct GpioCore {
    rules: Vec<Rule>,
    outputs: BTreeMap<String, Out>,
}

const DECISIONS: &[EventKind] = &[EventKind::OutputChanged, EventKind::PwmChanged];

impl GpioCore {
    /// A core applying `plan`'s rules; outputs start at their rest settings (as the performer
    /// sets them up).
    pub fn new(plan: &GpioPlan) -> Self {
        let outputs = plan
            .pins
            .iter()
            .filter_map(|p| {
                let current = match p.role {
                    PinRole::Input { .. } => return None,
                    PinRole::Output { rest_high } => Setting::Level(rest_high),
                    PinRole::Pwm {
                        frequency_hz,
                        duty_percent,
                    } => Setting::Pwm {
                        frequency_hz,
                        duty_percent,
                    },
                };
                Some((
                    p.name.clone(),
                    Out {
                        bcm: p.bcm,
                        current,
                        hold: None,
                    },
                ))
            })
            .collect();
        GpioCore {
            rules: plan.rules.clone(),
            outputs,
        }
    }

    /// The level the core holds for a plain output (`None` for unknown or PWM pins).
    pub fn level(&self, name: &str) -> Option<bool> {
        match self.outputs.get(name)?.current {
            Setting::Level(high) => Some(high),
            Setting::Pwm { .. } => None,
        }
    }

    /// The (frequency Hz, duty %) the core holds for a PWM output.
    pub fn pwm(&self, name: &str) -> Option<(f64, f64)> {
        match self.outputs.get(name)?.current {
            Setting::Pwm {
                frequency_hz,
                duty_percent,
            } => Some((frequency_hz, duty_percent)),
            Setting::Level(_) => None,
        }
    }

    /// Move output `name` to `to`; emit the change and the command when it is a change.
    fn apply(&mut self, name: &str, to: Setting, rule: String, out: &mut Vec<Intent<GpioCommand>>) {
        let Some(o) = self.outputs.get_mut(name) else {
            return;
        };
        if o.current == to {
            return;
        }
        o.current = to;
        let (name, pin) = (name.to_string(), o.bcm);
        match to {
            Setting::Level(high) => {
                out.push(Intent::Emit(
                    OutputChanged {
                        name: name.clone(),
                        pin,
                        high,
                        rule,
                    }
                    .into(),
                ));
                out.push(Intent::Do(GpioCommand::SetLevel { name, pin, high }));
            }
            Setting::Pwm {
                frequency_hz,
                duty_percent,
            } => {
                out.push(Intent::Emit(
                    PwmChanged {
                        name: name.clone(),
                        pin,
                        frequency_hz,
                        duty_percent,
                        rule,
                    }
                    .into(),
                ));
                out.push(Intent::Do(GpioCommand::SetPwm {
                    name,
                    pin,
                    frequency_hz,
                    duty_percent,
                }));
            }
        }
    }

    fn fire(&mut self, rule: &Rule, ts: UtcMicros, out: &mut Vec<Intent<GpioCommand>>) {
        let (name, target) = match &rule.action {
            RuleAction::Level { output, high } => (output, Setting::Level(*high)),
            RuleAction::Pwm {
                output,
                duty_percent,
                frequency_hz,
            } => {
                let current = match self.outputs.get(output).map(|o| o.current) {
                    Some(Setting::Pwm { frequency_hz, .. }) => frequency_hz,
                    _ => return,
                };
                (
                    output,
                    Setting::Pwm {
                        frequency_hz: frequency_hz.unwrap_or(current),
                        duty_percent: *duty_percent,
                    },
                )
            }
        };
        let Some(o) = self.outputs.get_mut(name) else {
            return;
        };
        let restore = o.hold.as_ref().map_or(o.current, |h| h.restore);
        o.hold = rule.hold.map(|h| Hold {
            until: ts.saturating_add(i64::try_from(h.as_micros()).unwrap_or(i64::MAX)),
            rule: rule.name.clone(),
            restore,
        });
        self.apply(name, target, rule.name.clone(), out);
    }
}

fn matches(rule: &Rule, event: &Event) -> bool {
    if rule.when.is_empty() {
        return true;
    }
    let fields = plain_fields(event);
    rule.when.iter().all(|(field, want)| {
        fields
            .get(field)
            .is_some_and(|got| got.eq_ignore_ascii_case(want.trim()))
    })
}

impl Core for GpioCore {
    type Command = GpioCommand;

    fn source(&self) -> Source {
        Source::Gpio
    }

    fn subscriptions(&self) -> &'static [EventKind] {
        EventKind::ALL
    }

    fn decisions(&self) -> &'static [EventKind] {
        DECISIONS
    }

    /// Outputs set back at stop are recorded by the performer (rule `release`): observations,
    /// not decisions of this core.
    fn is_decision(&self, env: &Envelope) -> bool {
        let released = matches!(&env.payload, Event::OutputChanged(o) if o.rule == performer::RELEASE_RULE)
            || matches!(&env.payload, Event::PwmChanged(p) if p.rule == performer::RELEASE_RULE);
        env.source == Source::Gpio && DECISIONS.contains(&env.kind) && !released
    }

    fn on_event(&mut self, env: &Envelope) -> Vec<Intent<GpioCommand>> {
        let mut out = Vec::new();
        let firing: Vec<Rule> = self
            .rules
            .iter()
            .filter(|r| r.on == env.kind && matches(r, &env.payload))
            .cloned()
            .collect();
        for rule in &firing {
            self.fire(rule, env.ts, &mut out);
        }
        out
    }

    fn next_deadline(&self) -> Option<UtcMicros> {
        self.outputs
            .values()
            .filter_map(|o| o.hold.as_ref().map(|h| h.until))
            .min()
    }

    fn on_tick(&mut self, now: UtcMicros) -> Vec<Intent<GpioCommand>> {
        let mut due = Vec::new();
        for (name, o) in self.outputs.iter_mut() {
            if let Some(h) = o.hold.take_if(|h| h.until <= now) {
                due.push((name.clone(), h));
            }
        }
        let mut out = Vec::new();
        for (name, h) in due {
            self.apply(
                &name,
                h.restore,
                format!("{} (hold ended)", h.rule),
                &mut out,
            );
        }
        out
    }
}
