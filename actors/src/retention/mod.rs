//! Retention: the pure planner ([`plan`]) decides from the policy, `now` and an index of
//! records what is due and why; the executor ([`run`]) carries a plan out on the store:
//! destruction record first (durable), then the purge in bounded steps, then the media files.

pub mod plan;
pub mod run;

pub use plan::{plan, DiskState, Media, Plan, PlanInput, PlannedPurge, Reason};
pub use run::{run, FreeSpace, RunError, RunOptions, RunReport, StatvfsFreeSpace};
