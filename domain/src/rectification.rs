//! The life of a rectification task and of an appeal, as states and the
//! steps between them. The store keeps the states as their snake_case text;
//! these enums are the only place the transitions are written down.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Declares a closed set of states stored as snake_case text.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            /// Every state, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownState;

            fn from_str(s: &str) -> Result<Self, UnknownState> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownState(s.chars().take(32).collect())),
                }
            }
        }
    };
}

/// A stored state that is none of the known ones (shown truncated).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown state '{0}'")]
pub struct UnknownState(pub String);

text_enum!(
    /// Where a rectification task stands.
    TaskStatus {
        Open => "open",
        PlanSubmitted => "plan_submitted",
        PlanAccepted => "plan_accepted",
        ReportSubmitted => "report_submitted",
        Completed => "completed",
        Withdrawn => "withdrawn",
    }
);

impl TaskStatus {
    /// Whether the institution is the one to act now (and can be overdue).
    pub fn awaits_institution(self) -> bool {
        matches!(self, TaskStatus::Open | TaskStatus::PlanAccepted)
    }
}

text_enum!(
    /// A step of a task's life: institutions submit, administrators review.
    Step {
        SubmitPlan => "submit_plan",
        AcceptPlan => "accept_plan",
        ReturnPlan => "return_plan",
        SubmitReport => "submit_report",
        AcceptReport => "accept_report",
        ReturnReport => "return_report",
    }
);

impl Step {
    /// The state the task must be in, and the state the step leaves it in.
    pub fn transition(self) -> (TaskStatus, TaskStatus) {
        use TaskStatus::*;
        match self {
            Step::SubmitPlan => (Open, PlanSubmitted),
            Step::AcceptPlan => (PlanSubmitted, PlanAccepted),
            Step::ReturnPlan => (PlanSubmitted, Open),
            Step::SubmitReport => (PlanAccepted, ReportSubmitted),
            Step::AcceptReport => (ReportSubmitted, Completed),
            Step::ReturnReport => (ReportSubmitted, PlanAccepted),
        }
    }

    /// The institution's own steps (the others are the office's review).
    pub fn is_submission(self) -> bool {
        matches!(self, Step::SubmitPlan | Step::SubmitReport)
    }
}

text_enum!(
    /// Why an institution contests a rating.
    AppealKind {
        Mistaken => "mistaken",
        Malicious => "malicious",
    }
);

text_enum!(
    /// Where an appeal stands.
    AppealStatus {
        Pending => "pending",
        Upheld => "upheld",
        Rejected => "rejected",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reads_back_from_its_text() {
        for s in TaskStatus::ALL {
            assert_eq!(s.as_str().parse::<TaskStatus>(), Ok(*s));
        }
        for s in Step::ALL {
            assert_eq!(s.as_str().parse::<Step>(), Ok(*s));
        }
        assert!("closed".parse::<TaskStatus>().is_err());
    }

    #[test]
    fn steps_chain_from_open_to_completed() {
        let mut at = TaskStatus::Open;
        for step in [
            Step::SubmitPlan,
            Step::AcceptPlan,
            Step::SubmitReport,
            Step::AcceptReport,
        ] {
            let (from, to) = step.transition();
            assert_eq!(from, at, "{step}");
            at = to;
        }
        assert_eq!(at, TaskStatus::Completed);
        assert_eq!(Step::ReturnPlan.transition().1, TaskStatus::Open);
        assert_eq!(Step::ReturnReport.transition().1, TaskStatus::PlanAccepted);
    }
}
