import EventLog
import LabelerCore

/// Per subject (AT-URI or DID), the seq of every event that concerns it.
public final class AuditProjection: Projection, @unchecked Sendable {
    public static let name = "audit"
    public static let version = 1
    let index: MDB_dbi_t
    public var databases: [MDB_dbi_t] { [index] }

    public init(env: LMDBEnvironment) throws {
        index = try env.database("audit.bysubject")
    }

    public func apply(_ event: StoredEvent, _ decoded: LabelerEvent, in txn: LMDBTransaction) throws {
        let subjects = decoded.subjects
        if subjects.count == 1 {
            try txn.put(index, Key.withSeq(subjects[0], event.seq), [])
            return
        }
        for subject in Set(subjects) {
            try txn.put(index, Key.withSeq(subject, event.seq), [])
        }
    }

    public func seqs(for subject: String, _ txn: LMDBTransaction) throws -> [UInt64] {
        let prefix = Array(subject.utf8) + [0]
        var out: [UInt64] = []
        try txn.scan(index, from: prefix) { k, _ in
            guard k.starts(with: prefix), k.count == prefix.count + 8 else { return false }
            out.append(Key.seqSuffix(k))
            return true
        }
        return out
    }
}
