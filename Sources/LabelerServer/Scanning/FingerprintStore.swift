import EventLog
import Foundation
import LabelerCore
import Projections

/// The Chromaprint fingerprints of scanned uploads, keyed by blob CID (LMDB table
/// `fingerprints.byhash`). Not a read model: it is derived from the audio, not from the log (like
/// `labels.resigned`), so rebuilds leave it alone. It is what a new reference re-checks locally,
/// and where an operator's confirmation finds the audio it turns into a reference.
public final class FingerprintStore: @unchecked Sendable {
    struct Entry: Codable {
        var items: [UInt8]
        var uris: [String]
    }

    let env: LMDBEnvironment
    let db: MDB_dbi_t

    public init(env: LMDBEnvironment) throws {
        self.env = env
        db = try env.database("fingerprints.byhash")
    }

    /// Stores (or extends with `uri`) the fingerprint of some bytes.
    public func put(contentHash: String, items: [UInt32], uri: String?) throws {
        try env.write { txn in
            let key = Array(contentHash.utf8)
            var e = try txn.get(db, key) { try $0.map { try CBORDecoder().decode(Entry.self, from: Array($0)) } }
                ?? Entry(items: Chromaprint.bytes(items), uris: [])
            if let uri, !e.uris.contains(uri) { e.uris.append(uri) }
            try txn.put(db, key, try CBOREncoder().encode(e))
        }
    }

    public func fingerprint(contentHash: String) throws -> [UInt32]? {
        try env.read { txn in
            try txn.get(db, Array(contentHash.utf8)) { try $0.map { Chromaprint.items(try CBORDecoder().decode(Entry.self, from: Array($0)).items) } }
        }
    }

    public var count: Int { (try? env.read { try $0.count(db) }) ?? 0 }

    /// Every stored fingerprint with the subjects it was uploaded as, in hash order.
    public func forEach(_ body: (String, [UInt32], [String]) throws -> Void) throws {
        try env.read { txn in
            try txn.scan(db) { k, v in
                let e = try CBORDecoder().decode(Entry.self, from: Array(v))
                try body(String(decoding: k, as: UTF8.self), Chromaprint.items(e.items), e.uris)
                return true
            }
        }
    }
}
