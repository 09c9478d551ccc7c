import EventLog
import LabelerCore

/// Per subject (AT-URI or DID), the seq of every event that concerns it.
public final class AuditProjection: Projection, @unchecked Sendable {
    public static let name = "audit"
    /// v2: a report's resolution is in its subject's story (`audit.reports` remembers subjects).
    public static let version = 2
    let index: MDB_dbi_t
    /// report id (the seq of its `report.created`) -> the reported subject.
    let reports: MDB_dbi_t
    public var databases: [MDB_dbi_t] { [index, reports] }

    public init(env: LMDBEnvironment) throws {
        index = try env.database("audit.bysubject")
        reports = try env.database("audit.reports")
    }

    public func apply(_ event: StoredEvent, _ decoded: LabelerEvent, in txn: LMDBTransaction) throws {
        var subjects = decoded.subjects
        switch decoded {
        case .reportCreated(let e): try txn.put(reports, BigEndian.bytes(event.seq), Array(e.subject.utf8))
        case .reportResolved(let e):
            if let s = try txn.get(reports, BigEndian.bytes(e.reportId), { $0.map { String(decoding: $0, as: UTF8.self) } }) {
                subjects = [s]
            }
        default: break
        }
        if subjects.count == 1 {
            try txn.put(index, Key.withSeq(subjects[0], event.seq), [])
            return
        }
        for subject in Set(subjects) {
            try txn.put(index, Key.withSeq(subject, event.seq), [])
        }
    }

    public func seqs(for subject: String, _ txn: LMDBTransaction) throws -> [UInt64] {
        let prefix = Key.subject(subject) + [0]
        var out: [UInt64] = []
        try txn.scan(index, from: prefix) { k, _ in
            guard k.starts(with: prefix), k.count == prefix.count + 8 else { return false }
            out.append(Key.seqSuffix(k))
            return true
        }
        return out
    }
}
