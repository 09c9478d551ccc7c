import LabelerCore

// Known content: audio an operator confirmed as a violation becomes a reference, matched locally
// (Chromaprint, segment by segment) against new uploads and the stored catalogue.

/// A reference entered the known-content index. The fingerprint is in the event, so the index
/// (a projection) is rebuilt from the log alone.
public struct KnownContentAdded: EventPayload, Equatable {
    public static let eventType = "known-content.added"
    public static let version = 1
    public var refId: String
    /// `operator-confirmed` (a review confirmed the flag) or `admin` (added explicitly).
    public var reason: String
    /// The subject whose audio this is, and the blob CID of its bytes, when known.
    public var uri: String?
    public var contentHash: String?
    /// Raw Chromaprint items (algorithm 2, one 32-bit item per 4096/3 samples at 11,025 Hz),
    /// little-endian.
    public var fingerprint: [UInt8]
    /// What the reference is, for the evidence shown to operators ("artist - title").
    public var work: String?
    public init(refId: String, reason: String, uri: String?, contentHash: String?, fingerprint: [UInt8], work: String?) {
        self.refId = refId
        self.reason = reason
        self.uri = uri
        self.contentHash = contentHash
        self.fingerprint = fingerprint
        self.work = work
    }
}

/// A reference left the index (a confirmation was overturned, a licence arrived).
public struct KnownContentRemoved: EventPayload, Equatable {
    public static let eventType = "known-content.removed"
    public static let version = 1
    public var refId: String
    public var reason: String?
    public init(refId: String, reason: String?) {
        self.refId = refId
        self.reason = reason
    }
}

/// Local matching found a reference inside an upload: at scan time (`scan`) or when a new
/// reference re-checked the stored catalogue (`retro-scan`). A `review` verdict waits for an
/// operator and never labels; a `flag` verdict from a retro-scan labelled the subject.
public struct KnownContentMatched: EventPayload, Equatable {
    public static let eventType = "known-content.matched"
    public static let version = 1
    public var source: String
    public var uri: String?
    public var contentHash: String?
    public var match: KnownMatch
    public init(source: String, uri: String?, contentHash: String?, match: KnownMatch) {
        self.source = source
        self.uri = uri
        self.contentHash = contentHash
        self.match = match
    }
}

/// An operator judged a borderline (`review`) match: `flag` (it is the reference's work: the
/// subject is labelled in the same append unless already flagged) or `dismiss` (it is not).
public struct KnownMatchReviewed: EventPayload, Equatable {
    public static let eventType = "known-content.match-reviewed"
    public static let version = 1
    /// The seq of the `known-content.matched` event judged.
    public var matchSeq: UInt64
    public var uri: String?
    public var contentHash: String?
    public var refId: String
    public var decision: KnownMatchDecision
    public var notes: String?
    public init(matchSeq: UInt64, uri: String?, contentHash: String?, refId: String, decision: KnownMatchDecision, notes: String?) {
        self.matchSeq = matchSeq
        self.uri = uri
        self.contentHash = contentHash
        self.refId = refId
        self.decision = decision
        self.notes = notes
    }
}

public enum KnownMatchDecision: String, Codable, Sendable, CaseIterable {
    case flag
    case dismiss
}
