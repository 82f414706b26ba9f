//! What /proc tells: a process's resident memory (`VmRSS` of /proc/PID/status) and CPU time
//! (utime + stime of /proc/PID/stat), and the kernel's count of listen-queue overflows
//! (`TcpExt: ListenOverflows` of /proc/net/netstat). Linux only; elsewhere every answer is
//! `None`. Parsing is pure and tested; reading never fails loudly.

/// Clock ticks per second of /proc/PID/stat (USER_HZ, 100 on every Linux this runs on).
const TICKS_PER_SEC: f64 = 100.0;

/// Resident memory of process `pid` in bytes (`VmRSS` of /proc/PID/status).
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vm_rss(&status)
}

/// `VmRSS:   12345 kB` → bytes.
pub fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut parts = line["VmRSS:".len()..].split_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        Some("kB") | None => Some(value * 1_024),
        Some("mB") | Some("MB") => Some(value * 1_048_576),
        Some(_) => None,
    }
}

/// Connections the kernel dropped because a listen queue was full (this network namespace,
/// every listener). Each costs its client a SYN retry, one second later.
pub fn listen_overflows() -> Option<u64> {
    parse_listen_overflows(&std::fs::read_to_string("/proc/net/netstat").ok()?)
}

/// `ListenOverflows` from the two `TcpExt:` lines (names, then values).
pub fn parse_listen_overflows(netstat: &str) -> Option<u64> {
    let mut lines = netstat.lines().filter(|l| l.starts_with("TcpExt:"));
    let names = lines.next()?.split_whitespace();
    let values = lines.next()?.split_whitespace();
    names
        .zip(values)
        .find(|(name, _)| *name == "ListenOverflows")
        .and_then(|(_, value)| value.parse().ok())
}

/// CPU use of the generator and the server from one moment on.
#[derive(Clone, Copy, Debug)]
pub struct CpuMark {
    at: std::time::Instant,
    own: Option<f64>,
    server: Option<f64>,
}

/// Cores busy on average since a [`CpuMark`] (1.0 = one core all the time), and the server's
/// resident memory when the load ended (what its open dialogs hold by then).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct CpuUse {
    pub generator_cores: Option<f64>,
    pub server_cores: Option<f64>,
    pub server_rss_bytes: Option<u64>,
}

impl CpuMark {
    pub fn now(server_pid: Option<u32>) -> CpuMark {
        CpuMark {
            at: std::time::Instant::now(),
            own: cpu_seconds(std::process::id()),
            server: server_pid.and_then(cpu_seconds),
        }
    }

    /// Average cores used since the mark.
    pub fn since(&self, server_pid: Option<u32>) -> CpuUse {
        let wall = self.at.elapsed().as_secs_f64().max(1e-3);
        let cores = |before: Option<f64>, now: Option<f64>| Some((now? - before?).max(0.0) / wall);
        CpuUse {
            generator_cores: cores(self.own, cpu_seconds(std::process::id())),
            server_cores: cores(self.server, server_pid.and_then(cpu_seconds)),
            server_rss_bytes: server_pid.and_then(rss_bytes),
        }
    }
}

/// CPU seconds (user + system) process `pid` has used so far.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat_cpu(&stat)
}

/// utime + stime of a /proc/PID/stat line, in seconds. The command name (field 2) may hold
/// spaces and parentheses, so fields are counted from the last `)`.
pub fn parse_stat_cpu(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // Fields after the name start at 3 (state); utime is 14, stime 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_SEC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_rss_parses() {
        let status = "Name:\tswitchboard\nVmPeak:\t  999 kB\nVmRSS:\t   11840 kB\nThreads:\t4\n";
        assert_eq!(parse_vm_rss(status), Some(11_840 * 1_024));
        assert_eq!(parse_vm_rss("Name: x\n"), None);
        assert_eq!(parse_vm_rss("VmRSS: lots kB\n"), None);
    }

    #[test]
    fn own_rss_is_readable() {
        assert!(rss_bytes(std::process::id()).is_some_and(|b| b > 0));
    }

    #[test]
    fn listen_overflows_parse() {
        let netstat = "TcpExt: SyncookiesSent ListenOverflows ListenDrops\nTcpExt: 0 112 113\n\
                       IpExt: InNoRoutes\nIpExt: 0\n";
        assert_eq!(parse_listen_overflows(netstat), Some(112));
        assert_eq!(parse_listen_overflows("IpExt: a\nIpExt: 1\n"), None);
    }

    #[test]
    fn stat_cpu_parses_odd_names() {
        let stat = "4242 (sw (x) y) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 3 0 100";
        assert_eq!(parse_stat_cpu(stat), Some(3.0));
        assert_eq!(parse_stat_cpu("garbage"), None);
        assert!(cpu_seconds(std::process::id()).is_some());
    }
}
