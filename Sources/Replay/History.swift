import EventLog
import Foundation
import LabelerCore
import Projections

/// `labeler replay history URI`: a subject's whole moderation story in log order.
public struct HistoryEntry: Sendable {
    public let seq: UInt64
    public let at: String
    public let actor: String
    public let type: String
    public let summary: String
    public let payload: CBOR

    public var jsonObject: [String: Any] {
        ["seq": seq, "at": at, "actor": actor, "type": type, "summary": summary, "payload": payload.jsonObject]
    }
}

public enum History {
    public static func entries(store: ModerationStore, subject: String) throws -> [HistoryEntry] {
        let seqs = try store.read { try store.audit.seqs(for: subject, $0) }
        return try seqs.compactMap { seq in
            guard let e = try store.reader.event(at: seq) else { return nil }
            let decoded = try e.envelope.decodeEvent()
            return HistoryEntry(
                seq: seq, at: e.envelope.recordedAtString, actor: e.envelope.actor, type: e.envelope.type,
                summary: summary(decoded, subject: subject), payload: try e.envelope.decodedPayload())
        }
    }

    /// One human line per event.
    public static func summary(_ event: LabelerEvent, subject: String) -> String {
        switch event {
        case .labelApplied(let e):
            let l = e.label
            var s = l.isNegation ? "label negated: \(l.val)" : "label applied: \(l.val)"
            if let cid = l.cid { s += " (cid \(cid))" }
            if let exp = l.exp { s += ", expires \(exp)" }
            return s
        case .scanRecorded(let e):
            if e.status == .failed { return "scan failed (\(e.provider)): \(e.error ?? "unknown error")" }
            let top = e.matches.max { $0.score < $1.score }
            var s = "scan (\(e.provider)): \(e.matches.count) match(es), \(e.isFlagged ? "flagged" : "clean")"
            if let top { s += ", top \(top.artist) – \(top.title) (\(top.score))" }
            if let p = e.plan, p.kind != "none" {
                s += "; \(p.kind) (\(p.mode)), \(e.estimatedRequests) request(s)" + (e.fullScanRequests.map { " of \($0) for a full scan" } ?? "")
            }
            if let r = e.flagReason { s += "; \(r)" }
            return s
        case .trackContextAttached(let e):
            var parts: [String] = []
            if let t = e.trackTitle { parts.append("title \"\(t)\"") }
            if let h = e.artistHandle { parts.append("artist @\(h)") }
            if let id = e.trackId { parts.append("track \(id)") }
            if let sc = e.highestScore { parts.append("score \(sc)") }
            return "context attached: " + (parts.isEmpty ? "(no fields)" : parts.joined(separator: ", "))
        case .flagResolved(let e):
            return "flag resolved: \(e.reason.rawValue)" + (e.notes.map { " — \($0)" } ?? "")
        case .reviewBatchCreated(let e):
            return "added to review batch \(e.batchId) (\(e.uris.count) flag(s))"
        case .reviewDecisionRecorded(let e):
            return "review decision in batch \(e.batchId): \(e.decision.rawValue)"
        case .knownContentAdded(let e):
            return "known-content reference \(e.refId) added (\(e.reason), \(e.fingerprint.count / 4) items)" + (e.work.map { ": \($0)" } ?? "")
        case .knownContentMatched(let e):
            let m = e.match
            return "known content \(m.refId) found by \(e.source) at \(m.uploadOffsetMs / 1000) s for \(m.matchedMs / 1000) s (BER \(Double(m.berBasisPoints) / 10_000)): \(m.verdict)"
        case .knownMatchReviewed(let e):
            let what = e.decision == .flag ? "flagged: it is the reference's work" : "dismissed: not the reference's work"
            return "borderline match #\(e.matchSeq) of known content \(e.refId) reviewed, \(what)" + (e.notes.map { " — \($0)" } ?? "")
        case .reportCreated(let e):
            var s = "reported (\(e.reasonType.split(separator: "#").last.map(String.init) ?? e.reasonType))"
            if let r = e.reason { s += ": \"\(r)\"" }
            if let by = e.reportedBy { s += " by \(by)" }
            return s
        case .reportResolved(let e):
            return "report #\(e.reportId) \(e.status.rawValue)" + (e.resolvedBy.map { " by \($0)" } ?? "") + (e.notes.map { " — \($0)" } ?? "")
        default:
            return String(String(describing: event).prefix { $0 != "(" })  // the case name, not a dump
        }
    }
}
