import EventLog
import Foundation
import Synchronization

/// Counters for `/metrics` (Prometheus text format).
public final class ServerMetrics: Sendable {
    private let requests = Mutex<[String: Int]>([:])
    let subscribers = Atomic<Int>(0)
    let backfilling = Atomic<Int>(0)
    let framesSent = Atomic<Int>(0)
    let slowConsumersClosed = Atomic<Int>(0)

    static let knownRoutes: Set<String> = [
        "/", "/health", "/metrics", "/emit-label", "/emit-labels", "/.well-known/did.json",
        "/xrpc/com.atproto.label.queryLabels", "/xrpc/com.atproto.label.subscribeLabels", "/xrpc/_health",
        "/xrpc/com.atproto.moderation.createReport", "/sensitive-images", "/scan",
    ]

    /// Bounded label cardinality: unknown paths are counted together.
    func routeName(_ path: String) -> String {
        if Self.knownRoutes.contains(path) { return path }
        if path.hasPrefix("/admin") { return "/admin/*" }
        if path.hasPrefix("/xrpc/") { return "/xrpc/*" }
        return "other"
    }

    func countRequest(route: String, status: Int) {
        requests.withLock { $0["\(route)|\(status)", default: 0] += 1 }
    }

    func render(log: EventLog, labels: Int) -> String {
        var out = ""
        out += "# HELP labeler_http_requests_total HTTP requests by route and status.\n# TYPE labeler_http_requests_total counter\n"
        for (k, v) in requests.withLock({ $0 }).sorted(by: { $0.key < $1.key }) {
            let parts = k.split(separator: "|")
            out += "labeler_http_requests_total{route=\"\(parts[0])\",status=\"\(parts[1])\"} \(v)\n"
        }
        let s = log.stats
        out += "# HELP labeler_events_appended_total Events made durable.\n# TYPE labeler_events_appended_total counter\n"
        out += "labeler_events_appended_total \(s.events)\n"
        out += "# HELP labeler_commits_total Durable LMDB commits (group commits).\n# TYPE labeler_commits_total counter\n"
        out += "labeler_commits_total \(s.commits)\n"
        out += "# HELP labeler_commit_failures_total Group commits that failed (nothing written).\n# TYPE labeler_commit_failures_total counter\n"
        out += "labeler_commit_failures_total \(s.failedCommits)\n"
        out += "# HELP labeler_commit_batch_events Events per group commit.\n# TYPE labeler_commit_batch_events histogram\n"
        var cumulative = 0
        var bucket = 1
        while bucket <= 8192 {
            cumulative += s.batchBuckets[bucket] ?? 0
            out += "labeler_commit_batch_events_bucket{le=\"\(bucket)\"} \(cumulative)\n"
            bucket *= 2
        }
        cumulative += s.batchBuckets[0] ?? 0
        out += "labeler_commit_batch_events_bucket{le=\"+Inf\"} \(cumulative)\nlabeler_commit_batch_events_count \(cumulative)\n"
        out += "labeler_commit_batch_events_sum \(s.events)\n"
        out += "# HELP labeler_subscribers Open subscribeLabels connections.\n# TYPE labeler_subscribers gauge\n"
        out += "labeler_subscribers \(subscribers.load(ordering: .relaxed))\n"
        out += "# HELP labeler_backfilling_subscribers Subscribers currently replaying history.\n# TYPE labeler_backfilling_subscribers gauge\n"
        out += "labeler_backfilling_subscribers \(backfilling.load(ordering: .relaxed))\n"
        out += "# HELP labeler_stream_frames_total #labels frames sent.\n# TYPE labeler_stream_frames_total counter\n"
        out += "labeler_stream_frames_total \(framesSent.load(ordering: .relaxed))\n"
        out += "# HELP labeler_slow_subscribers_closed_total Subscribers closed because they stopped reading.\n# TYPE labeler_slow_subscribers_closed_total counter\n"
        out += "labeler_slow_subscribers_closed_total \(slowConsumersClosed.load(ordering: .relaxed))\n"
        out += "# HELP labeler_head_seq The log's committed head.\n# TYPE labeler_head_seq gauge\n"
        out += "labeler_head_seq \(log.head)\n"
        out += "# HELP labeler_current_labels Labels in force or negated (latest per key).\n# TYPE labeler_current_labels gauge\n"
        out += "labeler_current_labels \(labels)\n"
        return out
    }
}
