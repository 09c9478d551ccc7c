import EventLog
import LabelerCore

/// A verdict on some audio bytes, keyed by their blob CID.
public struct CachedVerdictRecord: Codable, Sendable, Equatable {
    /// The event that decided the verdict: the scan that paid for it, or a retro-scan's
    /// `known-content.matched` (a confirmed reference found in these bytes).
    public var scanSeq: UInt64
    public var flagged: Bool
    /// When it was recorded (microseconds since the Unix epoch).
    public var recordedAt: Int64
    public var uri: String?
    /// Set when an operator (never the automated loop) resolved the flag it caused with a reason
    /// that says the bytes are fine: `fingerprint_noise`/`cover_version` (clean for everyone) or
    /// `original_artist`/`licensed` (clean for the uploaders in `clearedFor` only).
    public var cleared: String?
    /// The DIDs whose resolved subjects cleared the verdict (`original_artist`/`licensed`).
    public var clearedFor: [String]?

    public init(scanSeq: UInt64, flagged: Bool, recordedAt: Int64, uri: String?, cleared: String? = nil, clearedFor: [String]? = nil) {
        self.scanSeq = scanSeq
        self.flagged = flagged
        self.recordedAt = recordedAt
        self.uri = uri
        self.cleared = cleared
        self.clearedFor = clearedFor
    }

    /// Resolution reasons that make the bytes clean for everyone, or for the resolved uploader.
    /// `content_deleted` and `other` say nothing about the bytes: they never clear.
    public static let clearsForEveryone: Set<ResolutionReason> = [.fingerprintNoise, .coverVersion]
    public static let clearsForUploader: Set<ResolutionReason> = [.originalArtist, .licensed]
}

/// The verdict cache: the latest paid verdict per content hash (blob CID), and which hash each
/// scanned subject had (so a resolution clears the verdict of its bytes). Cache hits are not
/// verdicts of their own; clean verdicts expire at lookup time (the TTL is configuration).
/// A retro-scan's strong `known-content.matched` marks its bytes flagged, and the seq of the
/// latest `known-content.added` is kept so older clean verdicts get the local match again.
public final class VerdictCacheProjection: Projection, @unchecked Sendable {
    public static let name = "verdict-cache"
    /// v4: subjects over 400 bytes keyed by `Key.subject`.
    public static let version = 4
    let byHash: MDB_dbi_t
    let byURI: MDB_dbi_t
    public var databases: [MDB_dbi_t] { [byHash, byURI] }
    /// Written straight to LMDB during rebuilds (its apply counts or scans its own tables, which
    /// the rebuild write buffer does not serve).
    public var bufferedDatabases: [MDB_dbi_t] { [] }
    /// In `byURI`; no subject key starts with a 0 byte.
    static let latestReferenceKey: [UInt8] = Array("\u{0}known-content.added".utf8)

    public init(env: LMDBEnvironment) throws {
        byHash = try env.database("verdicts.byhash")
        byURI = try env.database("verdicts.byuri")
    }

    public func verdict(contentHash: String, _ txn: LMDBTransaction) throws -> CachedVerdictRecord? {
        try Record.get(CachedVerdictRecord.self, txn, byHash, Array(contentHash.utf8))
    }

    /// The content hash a subject was last scanned with.
    public func contentHash(uri: String, _ txn: LMDBTransaction) throws -> String? {
        try txn.get(byURI, Key.subject(uri)) { $0.map { String(decoding: $0, as: UTF8.self) } }
    }

    /// The seq of the latest `known-content.added` (0: none): a clean verdict decided before it
    /// never met that reference.
    public func latestReferenceSeq(_ txn: LMDBTransaction) throws -> UInt64 {
        try txn.get(byURI, Self.latestReferenceKey) { b in b.map { BigEndian.uint64($0) } ?? 0 }
    }

    /// These bytes are flagged from `event` on (unless an open flag verdict stands already); the
    /// uploaders they were cleared for keep that clearance, as for a scan.
    func markFlagged(_ hash: String, _ event: StoredEvent, uri: String?, _ txn: LMDBTransaction) throws {
        let old = try verdict(contentHash: hash, txn)
        if let old, old.flagged, old.cleared == nil { return }
        var r = CachedVerdictRecord(scanSeq: event.seq, flagged: true, recordedAt: event.envelope.recordedAt, uri: uri)
        if let old, old.clearedFor != nil {
            r.cleared = old.cleared
            r.clearedFor = old.clearedFor
        }
        try Record.put(r, txn, byHash, Array(hash.utf8))
    }

    public func apply(_ event: StoredEvent, _ decoded: LabelerEvent, in txn: LMDBTransaction) throws {
        switch decoded {
        case .scanRecorded(let s):
            guard s.status == .ok, let hash = s.contentHash else { return }
            if let uri = s.uri { try txn.put(byURI, Key.subject(uri), Array(hash.utf8)) }
            guard s.cachedFromSeq == nil else { return }
            var r = CachedVerdictRecord(scanSeq: event.seq, flagged: s.isFlagged, recordedAt: event.envelope.recordedAt, uri: s.uri)
            // Someone else's upload of bytes cleared for their uploader was scanned again and
            // flagged: the uploaders they were cleared for keep that decision.
            if s.isFlagged, let old = try verdict(contentHash: hash, txn), old.clearedFor != nil {
                r.cleared = old.cleared
                r.clearedFor = old.clearedFor
            }
            try Record.put(r, txn, byHash, Array(hash.utf8))
        case .flagResolved(let e):
            // The automated loop decides from uploader-chosen metadata and LLM output: its
            // resolutions never clear bytes.
            guard event.envelope.actor != Actor.loop.value else { return }
            guard let hash = try contentHash(uri: e.uri, txn), var r = try verdict(contentHash: hash, txn), r.flagged else { return }
            if CachedVerdictRecord.clearsForEveryone.contains(e.reason) {
                r.cleared = e.reason.rawValue
                r.clearedFor = nil
            } else if CachedVerdictRecord.clearsForUploader.contains(e.reason), let did = UploaderTrustProjection.uploader(of: e.uri) {
                // Clean for everyone stays so; otherwise the resolved subject's uploader is added.
                if let c = r.cleared, let reason = ResolutionReason(rawValue: c), CachedVerdictRecord.clearsForEveryone.contains(reason) { return }
                r.cleared = e.reason.rawValue
                r.clearedFor = Array(Set((r.clearedFor ?? []) + [did])).sorted()
            } else {
                return
            }
            try Record.put(r, txn, byHash, Array(hash.utf8))
        case .knownContentMatched(let e):
            guard e.match.verdict == "flag", e.source == "retro-scan", let hash = e.contentHash else { return }
            try markFlagged(hash, event, uri: e.uri, txn)
        case .knownMatchReviewed(let e):
            // An operator judged a borderline match to be the reference's work: these bytes are
            // flagged, so the same bytes uploaded again are flagged for free.
            guard e.decision == .flag, let hash = e.contentHash else { return }
            try markFlagged(hash, event, uri: e.uri, txn)
        case .knownContentAdded:
            try txn.put(byURI, Self.latestReferenceKey, BigEndian.bytes(event.seq))
        default: break
        }
    }
}
