import Foundation

/// The `--json` document: one object describing the whole run.
extension LoopReport {
    public func json() -> String {
        func flag(_ f: FlagOutcome) -> [String: Any] {
            var o: [String: Any] = ["uri": f.uri, "track_id": f.trackId.map { $0 as Any } ?? NSNull()]
            o["track_check"] = f.track.map { ["status": $0.code, "detail": $0.summary] as Any } ?? NSNull()
            o["category"] = f.verdict?.category.rawValue ?? NSNull()
            o["analyzer"] = f.verdict?.analyzer ?? NSNull()
            o["reason"] = f.verdict?.reason ?? NSNull()
            o["action"] = f.action?.rawValue ?? "kept"
            o["resolution"] = f.resolution ?? NSNull()
            o["error"] = f.error ?? NSNull()
            return o
        }
        var doc: [String: Any] = [
            "env": env.rawValue, "dry_run": dryRun, "service_url": serviceURL, "track_api": trackAPI, "analyzers": analyzers,
            "notifiers": notifiers, "pending": pending, "awaiting_review": awaitingReview,
            "skipped": skipped.map { ["uri": $0.uri, "reason": $0.reason] }, "processed": flags.count, "flags": flags.map(flag),
            "counts": [
                "deleted": deleted, "false_positive": count(.falsePositive), "violation": count(.violation),
                "needs_human": count(.needsHuman),
            ],
            "warnings": warnings, "errors": errors, "exit_code": Int(exitCode),
        ]
        doc["batch"] = batch.map { ["id": $0.id, "url": batchURL ?? $0.url, "flag_count": $0.flagCount] as Any } ?? NSNull()
        doc["notifications"] = notifications.map { n -> [String: Any] in
            ["destination": n.destination, "text": n.text, "delivered": n.delivered, "error": n.error ?? NSNull(), "resent": n.resent]
        }
        let data = (try? JSONSerialization.data(withJSONObject: doc, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
