//! Runs the host variant of the firmware (embassy's std executor and std time driver) and checks
//! the report it prints: one sensor read for four concurrent readers, a hit, a reload after the
//! TTL, one read shared by two readers of a missing sensor, a byte-bounded cache that evicts, and
//! nothing left in flight.

use std::process::Command;

fn lines_after<'a>(report: &'a str, heading: &str, count: usize) -> Vec<&'a str> {
    report
        .lines()
        .skip_while(|line| !line.starts_with(heading))
        .skip(1)
        .take(count)
        .map(str::trim)
        .collect()
}

#[test]
fn the_host_variant_reports_coalesced_reads() {
    let output = Command::new(env!("CARGO_BIN_EXE_readthrough-example-embassy"))
        .output()
        .expect("the firmware's host variant runs");
    assert!(output.status.success(), "{output:?}");
    let report = String::from_utf8(output.stdout).expect("the report is UTF-8");

    let mut concurrent = lines_after(&report, "4 tasks ask for sensor 1", 5);
    let summary = concurrent.pop().expect("a summary line");
    concurrent.sort_unstable();
    assert_eq!(
        concurrent,
        [
            "sensor 1: lock_hit",
            "sensor 1: lock_hit",
            "sensor 1: lock_hit",
            "sensor 1: miss"
        ],
        "{report}"
    );
    assert!(summary.ends_with("sensor reads: 1"), "{report}");

    let again = lines_after(&report, "asked again", 1);
    assert!(again[0].starts_with("sensor 1: hit"), "{report}");
    assert!(again[0].ends_with("sensor reads: 0"), "{report}");

    let expired = lines_after(&report, "after its", 1);
    assert!(expired[0].starts_with("sensor 1: expired"), "{report}");
    assert!(expired[0].ends_with("sensor reads: 1"), "{report}");

    let missing = lines_after(&report, "2 tasks ask for sensor 9", 3);
    assert_eq!(
        missing[..2],
        [
            "sensor 9: error: load failed: no sensor answers at id 9",
            "sensor 9: error: load failed: no sensor answers at id 9"
        ],
        "{report}"
    );
    assert!(missing[2].ends_with("sensor reads: 1"), "{report}");

    let bounded = lines_after(&report, "32 more records written into 144 bytes", 1);
    assert_eq!(
        bounded,
        ["16 cached, 144 of 144 bytes, 17 evicted"],
        "{report}"
    );
    assert!(!report.contains("over budget"), "{report}");

    assert!(
        report.contains("loads in flight: 0, cached records: 16,"),
        "{report}"
    );
}
