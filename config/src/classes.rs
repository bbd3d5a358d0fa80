//! `[classes]`: raise the data class of event kinds (never lower).

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use vigil_events::{ClassPolicy, DataClass, EventKind};

use crate::error::{closest, ConfigError, Ctx, Problem};

/// `[classes]` as written: kind name → class.
///
/// ```toml
/// [classes]
/// FrameCaptured = "important"
/// Detection = "core"
/// ```
#[derive(Debug, Deserialize, Default)]
#[serde(transparent)]
pub(crate) struct RawClasses(BTreeMap<Spanned<String>, Spanned<DataClass>>);

/// The validated section: the policy and where each raise was written.
#[derive(Debug, Default)]
pub(crate) struct Classes {
    pub policy: ClassPolicy,
    pub raised: BTreeMap<EventKind, DataClass>,
    pub spans: BTreeMap<EventKind, Range<usize>>,
}

impl RawClasses {
    pub(crate) fn validate(self, ctx: &Ctx<'_>) -> Result<Classes, ConfigError> {
        let mut out = Classes::default();
        for (name, class) in self.0 {
            let kind = lookup_kind(ctx, &name)?;
            out.policy
                .raise(kind, *class.get_ref())
                .map_err(|e| ctx.invalid(Some(&class.span()), e))?;
            out.raised.insert(kind, *class.get_ref());
            out.spans.insert(kind, name.span());
        }
        Ok(out)
    }
}

/// An event kind by name, or an error at the name with the closest kind as a hint.
pub(crate) fn lookup_kind(ctx: &Ctx<'_>, name: &Spanned<String>) -> Result<EventKind, ConfigError> {
    EventKind::from_name(name.get_ref()).ok_or_else(|| {
        ctx.invalid(
            Some(&name.span()),
            Problem::UnknownEventKind {
                name: name.get_ref().clone(),
                suggestion: closest(name.get_ref(), EventKind::ALL.iter().map(|k| k.name())),
            },
        )
    })
}
