import EventLog
import Foundation
import LabelerCore
import Logging
import Projections

/// `labeler replay rebuild`: drops read models and rebuilds them from seq 1.
public enum Rebuild {
    public struct Result: Sendable {
        public let projections: [String]
        public var whileServing = false
        public let events: UInt64
        public let seconds: Double
        public var eventsPerSecond: Double { Double(events) / max(seconds, 1e-9) }
    }

    /// Rebuilds `names` (all when empty) in one write transaction. Safe while `labeler serve` runs
    /// on the same directory: the server keeps reading the old tables until the switch commits,
    /// and its appends wait for LMDB's writer lock, then apply to the rebuilt tables.
    public static func run(
        dataDir: String, names: [String] = [], logger: Logger = Logger(label: "labeler.replay"),
        progress: ((String, UInt64, UInt64) -> Void)? = nil
    ) throws -> Result {
        let env = try LMDBEnvironment(path: dataDir, mustExist: true)
        let reader = try EventLogReader(env: env)
        let set = try ProjectionSet(env: env, projections: ModerationStore.makeProjections(env: env), logger: logger)
        var targets = set.projections
        if !names.isEmpty {
            var seen: Set<String> = []
            targets = try names.filter { seen.insert($0).inserted }.map { n in
                guard let p = set.projection(named: n) else {
                    throw ReplayError("unknown projection \(n); known: \(set.projections.map(\.name).joined(separator: ", "))")
                }
                return p
            }
        }
        let head = try reader.storedHead()
        // Read models rebuilt from a cut-off log would hide that it was cut off.
        if let fault = try env.read({ try reader.endFault($0) }) {
            throw ReplayError("\(dataDir): \(fault.reason); not rebuilding. `labeler replay verify` audits it")
        }
        // A log from before the recorded end: read models built past it are the only sign. Head
        // and checkpoints from one snapshot: a running server moves both between two reads.
        if let (ahead, end) = try env.read({ txn -> ((name: String, checkpoint: UInt64), UInt64)? in
            let end = try txn.last(reader.eventsDB).map { BigEndian.uint64($0.key) } ?? 0
            return try set.aheadOfLog(head: end, txn).first.map { ($0, end) }
        }) {
            throw ReplayError("\(ProjectionError.aheadOfLog(ahead.name, ahead.checkpoint, end)); not rebuilding")
        }
        let start = Date()
        // With no server running, rebuild in chunks (fast); with one, in one transaction (atomic).
        let exclusive = try EventLog.withWriterLockIfFree(dataDir) { free in
            if free { try set.rebuild(targets, reader: reader, exclusive: true, progress: progress) }
            return free
        }
        if !exclusive { try set.rebuild(targets, reader: reader, exclusive: false, progress: progress) }
        var result = Result(projections: targets.map(\.name), events: head, seconds: Date().timeIntervalSince(start))
        result.whileServing = !exclusive
        return result
    }
}

public struct ReplayError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}
