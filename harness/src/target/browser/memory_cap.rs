//! The browser's memory cgroup: readied for each case under its cap, and read after it for an
//! OOM kill inside.

use super::*;
impl BrowserTarget {
    /// Ready the browser's cgroup for a case under `cap`: made at the first case with a cap (a
    /// driver already running outside it is restarted inside), its limit set to `cap`, its peak
    /// reset. The cgroup's OOM-kill count before the case, or None where the watchdog caps the
    /// case (no cap, a remote endpoint, no writable controller, or the cgroup failed).
    pub(super) fn prepare_cgroup(&mut self, cap: Option<u64>) -> Option<u64> {
        if self.remote.is_some() {
            return None;
        }
        let Some(cap) = cap else {
            // A case without a cap: lift the limit an earlier case set.
            if let Some(cg) = &mut self.cgroup
                && let Err(e) = cg.set_limit(None)
            {
                eprintln!("warning: cannot lift the limit of the browser's cgroup ({e})");
            }
            return None;
        };
        if self.cgroup_failed || crate::cgroup::parent().is_none() {
            return None;
        }
        if self.cgroup.is_none() {
            match CaseCgroup::create(cap) {
                Ok(cg) => {
                    if self.driver.is_some() {
                        self.drop_session();
                        self.stop_driver();
                    }
                    self.cgroup = Some(cg);
                }
                Err(e) => {
                    eprintln!(
                        "warning: cannot make a cgroup for the {} browser ({e}); the memory watchdog caps its cases",
                        self.name
                    );
                    self.cgroup_failed = true;
                    return None;
                }
            }
        }
        let set = self.cgroup.as_mut()?.set_limit(Some(cap));
        if set.is_err() {
            // The browser holds more than this case's cap already (an earlier case had a larger
            // one): a fresh browser, under the new limit.
            self.drop_session();
            if let Err(e) = self.cgroup.as_mut()?.set_limit(Some(cap)) {
                eprintln!(
                    "warning: cannot set the limit of the browser's cgroup ({e}); the memory watchdog caps this case"
                );
                return None;
            }
        }
        let cg = self.cgroup.as_ref()?;
        cg.reset_peak();
        Some(cg.oom_kills())
    }

    /// Whether the kernel's OOM killer ended a process in the browser's cgroup since its count was
    /// `before`; if so the case is recorded as ended by the cap.
    pub(super) fn cgroup_ended(&self, before: Option<u64>, watch: &mut dyn CaseWatch) -> bool {
        let (Some(before), Some(cg)) = (before, &self.cgroup) else {
            return false;
        };
        if cg.oom_kills() <= before {
            return false;
        }
        let limit = cg.limit();
        watch.capped(crate::target::Trip {
            cap_bytes: limit,
            pss_bytes: cg.peak().unwrap_or(limit).min(limit),
            via: crate::target::Via::BrowserCgroup(cg.version()),
        });
        true
    }
}
