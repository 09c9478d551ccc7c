import EventLog
import LabelerCore

/// What operators decided about one uploader (the DID that owns the subjects).
public struct UploaderRecord: Codable, Sendable, Equatable {
    /// Flags resolved as `original_artist`: the uploader is the artist AuDD matched.
    public var originalArtist = 0
    /// Flags an operator confirmed as violations.
    public var confirmedViolations = 0
}

/// Uploader trust, per DID: from `flag.resolved` (reason `original_artist`) and review decisions
/// `confirm`. The DID of a subject is its AT-URI's authority (or the subject itself). Resolutions
/// by the automated loop (envelope actor `loop`) never build trust: its `original_artist` rests on
/// the uploader-chosen handle.
public final class UploaderTrustProjection: Projection, @unchecked Sendable {
    public static let name = "uploader-trust"
    /// v3: DIDs over 400 bytes keyed by `Key.subject`.
    public static let version = 3
    let byDID: MDB_dbi_t
    public var databases: [MDB_dbi_t] { [byDID] }
    /// Written straight to LMDB during rebuilds (its apply counts or scans its own tables, which
    /// the rebuild write buffer does not serve).
    public var bufferedDatabases: [MDB_dbi_t] { [] }

    public init(env: LMDBEnvironment) throws {
        byDID = try env.database("trust.bydid")
    }

    /// `at://did:plc:x/coll/rkey` → `did:plc:x`; a DID → itself.
    public static func uploader(of subject: String) -> String? {
        if subject.hasPrefix("did:") { return subject }
        guard subject.hasPrefix("at://") else { return nil }
        let authority = subject.dropFirst(5).prefix { $0 != "/" }
        return authority.hasPrefix("did:") ? String(authority) : nil
    }

    public func record(did: String, _ txn: LMDBTransaction) throws -> UploaderRecord? {
        try Record.get(UploaderRecord.self, txn, byDID, Key.subject(did))
    }

    func update(_ subject: String, _ txn: LMDBTransaction, _ change: (inout UploaderRecord) -> Void) throws {
        guard let did = Self.uploader(of: subject) else { return }
        var r = try record(did: did, txn) ?? UploaderRecord()
        change(&r)
        try Record.put(r, txn, byDID, Key.subject(did))
    }

    public func apply(_ event: StoredEvent, _ decoded: LabelerEvent, in txn: LMDBTransaction) throws {
        switch decoded {
        case .flagResolved(let e) where e.reason == .originalArtist && event.envelope.actor != Actor.loop.value:
            try update(e.uri, txn) { $0.originalArtist += 1 }
        case .reviewDecisionRecorded(let e) where e.decision == .confirm:
            try update(e.uri, txn) { $0.confirmedViolations += 1 }
        default: break
        }
    }
}
