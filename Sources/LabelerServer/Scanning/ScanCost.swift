import EventLog

/// How many AuDD requests a scan is billed: the enterprise endpoint counts one request per
/// 12-second chunk of audio scanned (docs.audd.io/enterprise; we send no `skip`/`every`, so every
/// chunk is scanned).
///
/// The estimate, in order of preference:
/// 1. the caller's `duration_s`: ⌈duration / 12⌉ — exact for a full scan;
/// 2. otherwise a lower bound from the response: AuDD's enterprise answer reports neither the
///    duration nor the requests billed, so we count the chunks up to the last matched segment
///    (⌊last offset / 12 s⌋ + 1), and at least 1 (the file was fetched and scanned). A clean scan
///    without `duration_s` therefore records 1, which undercounts: callers should send it.
///
/// Failed scans record 0: whether AuDD bills a scan that failed (a timeout may still have been
/// processed on its side) is not known here; its dashboard counter is the reference.
enum ScanCost {
    static let secondsPerRequest = 12

    static func estimate(durationSeconds: Int?, matches: [ScanMatch]) -> Int {
        if let d = durationSeconds {
            return (d + secondsPerRequest - 1) / secondsPerRequest
        }
        let lastOffset = matches.compactMap(\.offsetMs).max()
        return max(1, lastOffset.map { $0 / (secondsPerRequest * 1000) + 1 } ?? 1)
    }
}
