import EventLog
import Foundation
import Projections

/// One borderline known-content match (verdict `review`): a stored reference found inside an
/// upload too weakly to label it, waiting for a person to flag or dismiss it; numbers as the
/// match recorded them.
struct KnownReviewView {
    let seq: UInt64
    let subject: String
    /// The subject is an AT-URI (else a content hash).
    let isURI: Bool
    let env: String?
    let source: String
    let at: String?
    let atISO: String
    let refId: String
    let refWork: String?
    let refURI: String?
    let refRemoved: Bool
    let uploadOffset: String
    let referenceOffset: String
    let matched: String
    let ber: String
    /// The subject's copyright flag now, if it has one (`pending`, `confirmed`, `resolved`).
    let flagState: String?

    init(_ m: KnownMatchRecord, reference: KnownReference?, flag: FlagRecord?) {
        seq = m.seq
        subject = m.uri ?? m.contentHash ?? "(no subject)"
        isURI = m.uri != nil
        env = m.uri.flatMap(AdminLinks.environment)
        source = m.source
        at = AdminTime.display(m.at)
        atISO = m.at
        refId = m.match.refId
        refWork = reference?.work
        refURI = reference?.uri
        refRemoved = reference?.removed ?? false
        uploadOffset = Self.clock(m.match.uploadOffsetMs)
        referenceOffset = Self.clock(m.match.referenceOffsetMs)
        matched = String(format: "%.1f s", Double(m.match.matchedMs) / 1000)
        ber = String(format: "%.3f", Double(m.match.berBasisPoints) / 10_000)
        flagState = flag?.isFlag == true ? flag?.state.rawValue : nil
    }

    /// `m:ss.t` for an offset in milliseconds.
    static func clock(_ ms: Int) -> String {
        let tenths = max(0, ms) / 100
        return String(format: "%d:%02d.%d", tenths / 600, tenths / 10 % 60, tenths % 10)
    }
}

struct KnownReviewListView {
    /// Waiting for a judgement.
    let count: Int
    /// Judged already (flagged or dismissed): no longer listed.
    let reviewed: Int
    let shown: Int
    let truncated: Bool
    let matches: [KnownReviewView]
}
