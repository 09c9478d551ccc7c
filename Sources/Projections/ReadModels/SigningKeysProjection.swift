import EventLog
import LabelerCore

/// The labeler's DID and the history of its signing keys: which key was in force at each seq.
public final class SigningKeysProjection: Projection, @unchecked Sendable {
    public static let name = "signing-keys"
    public static let version = 1
    let history: MDB_dbi_t
    let identity: MDB_dbi_t
    public var databases: [MDB_dbi_t] { [history, identity] }

    public init(env: LMDBEnvironment) throws {
        history = try env.database("keys.history")
        identity = try env.database("keys.identity")
    }

    public func apply(_ event: StoredEvent, _ decoded: LabelerEvent, in txn: LMDBTransaction) throws {
        switch decoded {
        case .labelerIdentified(let e):
            try txn.put(identity, Array("did".utf8), Array(e.did.utf8))
            try txn.put(history, BigEndian.bytes(event.seq), Array(e.signingKey.utf8))
        case .signingKeyRotated(let e):
            try txn.put(history, BigEndian.bytes(event.seq), Array(e.signingKey.utf8))
        default: break
        }
    }

    /// (seq of the key's event, did:key) of the key in force at `seq`.
    public func key(at seq: UInt64, _ txn: LMDBTransaction) throws -> (epoch: UInt64, didKey: String)? {
        var found: (UInt64, String)? = nil
        try txn.scan(history, from: BigEndian.bytes(seq), reverse: true) { k, v in
            found = (BigEndian.uint64(k), String(decoding: v, as: UTF8.self))
            return false
        }
        return found
    }

    public func currentKey(_ txn: LMDBTransaction) throws -> (epoch: UInt64, didKey: String)? {
        try key(at: UInt64.max >> 1, txn)
    }

    public func did(_ txn: LMDBTransaction) throws -> String? {
        try txn.getBytes(identity, Array("did".utf8)).map { String(decoding: $0, as: UTF8.self) }
    }

    public func allKeys(_ txn: LMDBTransaction) throws -> [(epoch: UInt64, didKey: String)] {
        var out: [(UInt64, String)] = []
        try txn.scan(history) { k, v in
            out.append((BigEndian.uint64(k), String(decoding: v, as: UTF8.self)))
            return true
        }
        return out
    }
}
