import EventLog
import LabelerCore

/// A verdict on some audio bytes, keyed by their blob CID.
public struct CachedVerdictRecord: Codable, Sendable, Equatable {
    /// The scan that paid for the verdict.
    public var scanSeq: UInt64
    public var flagged: Bool
    /// When it was recorded (microseconds since the Unix epoch).
    public var recordedAt: Int64
    public var uri: String?
    /// Set when an operator resolved the flag it caused: not reused.
    public var cleared: String?
}

/// The verdict cache: the latest paid verdict per content hash (blob CID), and which hash each
/// scanned subject had (so a resolution clears the verdict of its bytes). Cache hits are not
/// verdicts of their own; clean verdicts expire at lookup time (the TTL is configuration).
public final class VerdictCacheProjection: Projection, @unchecked Sendable {
    public static let name = "verdict-cache"
    public static let version = 1
    let byHash: MDB_dbi_t
    let byURI: MDB_dbi_t
    public var databases: [MDB_dbi_t] { [byHash, byURI] }

    public init(env: LMDBEnvironment) throws {
        byHash = try env.database("verdicts.byhash")
        byURI = try env.database("verdicts.byuri")
    }

    public func verdict(contentHash: String, _ txn: LMDBTransaction) throws -> CachedVerdictRecord? {
        try Record.get(CachedVerdictRecord.self, txn, byHash, Array(contentHash.utf8))
    }

    /// The content hash a subject was last scanned with.
    public func contentHash(uri: String, _ txn: LMDBTransaction) throws -> String? {
        try txn.get(byURI, Array(uri.utf8)) { $0.map { String(decoding: $0, as: UTF8.self) } }
    }

    public func apply(_ event: StoredEvent, _ decoded: LabelerEvent, in txn: LMDBTransaction) throws {
        switch decoded {
        case .scanRecorded(let s):
            guard s.status == .ok, let hash = s.contentHash else { return }
            if let uri = s.uri { try txn.put(byURI, Array(uri.utf8), Array(hash.utf8)) }
            guard s.cachedFromSeq == nil else { return }
            let r = CachedVerdictRecord(scanSeq: event.seq, flagged: s.isFlagged, recordedAt: event.envelope.recordedAt, uri: s.uri, cleared: nil)
            try Record.put(r, txn, byHash, Array(hash.utf8))
        case .flagResolved(let e):
            guard let hash = try contentHash(uri: e.uri, txn), var r = try verdict(contentHash: hash, txn), r.flagged else { return }
            r.cleared = e.reason.rawValue
            try Record.put(r, txn, byHash, Array(hash.utf8))
        default: break
        }
    }
}
