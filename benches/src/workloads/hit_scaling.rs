//! The hit path on 1 and on 2 threads, back to back, each beside the machine's own reference.
//!
//! A cache's 2-thread / 1-thread ratio on a virtual machine says as much about the host as
//! about the cache: when the second vCPU is shared with other guests, nothing doubles its rate.
//! So each run times the contender on 1 and on 2 threads between two runs of the same reads on
//! a [`ReadOnlyTable`] (no writes once loaded, a perfectly parallel reader), and reports the
//! contender's ratio beside the table's from the same moment.

use crate::contender::Contender;
use crate::peers::reference::ReadOnlyTable;
use crate::workloads::Workload;
use crate::workloads::hit_path::{HitPath, HitTiming};

/// [`HitPath`] on 1 and on 2 threads over the same keys, with the reference around them.
#[derive(Debug, Clone)]
pub struct HitScaling {
    /// The 1-thread run; the 2-thread run reads the same keys.
    pub path: HitPath,
}

/// One run of [`HitScaling`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScalingRun {
    /// The contender on 1 thread.
    pub one: HitTiming,
    /// The contender on 2 threads.
    pub two: HitTiming,
    /// The reference on 1 thread, just before the contender's runs.
    pub reference_one: HitTiming,
    /// The reference on 2 threads, just after them.
    pub reference_two: HitTiming,
}

impl ScalingRun {
    /// The contender's 2-thread rate ÷ its 1-thread rate.
    ///
    /// ```
    /// use readthrough_benches::workloads::hit_path::HitTiming;
    /// use readthrough_benches::workloads::hit_scaling::ScalingRun;
    /// let at = |mops_per_sec| HitTiming { nanos_per_op: 1.0, mops_per_sec, plain_get_nanos: None, misses: 0 };
    /// let run = ScalingRun { one: at(30.0), two: at(45.0), reference_one: at(20.0), reference_two: at(25.0) };
    /// assert_eq!(run.scaling(), 1.5);
    /// assert_eq!(run.reference_scaling(), 1.25);
    /// assert_eq!(run.against_reference(), 1.2);
    /// ```
    pub fn scaling(&self) -> f64 {
        self.two.mops_per_sec / self.one.mops_per_sec
    }

    /// The reference's 2-thread rate ÷ its 1-thread rate: what the machine gave a reader that
    /// shares nothing, at that moment (2 on two free cores).
    pub fn reference_scaling(&self) -> f64 {
        self.reference_two.mops_per_sec / self.reference_one.mops_per_sec
    }

    /// [`scaling`](Self::scaling) ÷ [`reference_scaling`](Self::reference_scaling): 1 when the
    /// contender scales as well as the machine lets anything scale.
    pub fn against_reference(&self) -> f64 {
        self.scaling() / self.reference_scaling()
    }
}

impl Workload for HitScaling {
    type Output = ScalingRun;

    fn run<C: Contender>(&self) -> ScalingRun {
        let two = HitPath {
            threads: 2,
            ..self.path.clone()
        };
        let one = HitPath {
            threads: 1,
            ..self.path.clone()
        };
        let reference_one = one.run::<ReadOnlyTable>();
        let contender_one = one.run::<C>();
        let contender_two = two.run::<C>();
        let reference_two = two.run::<ReadOnlyTable>();
        ScalingRun {
            one: contender_one,
            two: contender_two,
            reference_one,
            reference_two,
        }
    }
}
