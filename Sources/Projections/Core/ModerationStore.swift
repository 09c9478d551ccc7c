import CLMDB
import EventLog
import Foundation
import LabelerCore
import Logging

/// The data directory opened for use: the LMDB environment, every read model, and (unless
/// opened read-only) the event log's single writer with the models as its observers.
public final class ModerationStore: Sendable {
    public let env: LMDBEnvironment
    public let reader: EventLogReader
    public let projections: ProjectionSet
    /// Nil when opened read-only (another process may be the writer).
    public let log: EventLog?

    public let keys: SigningKeysProjection
    public let labels: CurrentLabelsProjection
    public let stream: LabelStreamProjection
    public let flags: CopyrightFlagsProjection
    public let batches: ReviewBatchesProjection
    public let images: SensitiveImagesProjection
    public let audit: AuditProjection
    public let reports: ReportsProjection
    public let scanStats: ScanStatsProjection
    public let verdicts: VerdictCacheProjection
    public let trust: UploaderTrustProjection
    public let known: KnownContentProjection

    /// Every read model, in apply order.
    public static func makeProjections(env: LMDBEnvironment) throws -> [any Projection] {
        [
            try SigningKeysProjection(env: env), try CurrentLabelsProjection(env: env),
            try LabelStreamProjection(env: env), try CopyrightFlagsProjection(env: env),
            try ReviewBatchesProjection(env: env), try SensitiveImagesProjection(env: env),
            try AuditProjection(env: env), try ReportsProjection(env: env), try ScanStatsProjection(env: env),
            try VerdictCacheProjection(env: env), try UploaderTrustProjection(env: env), try KnownContentProjection(env: env),
        ]
    }

    /// Opens `path` (creating it unless `mustExist`), brings every read model up to the log's head (rebuilding any
    /// whose schema version changed), then starts the writer unless `readOnly`.
    public init(
        path: String, readOnly: Bool = false, mustExist: Bool = false, mapSize: Int = 1 << 36, logger: Logger = Logger(label: "labeler.store"),
        progress: ((String, UInt64, UInt64) -> Void)? = nil
    ) throws {
        if !readOnly { try Self.rebuildChangedModels(path: path, mapSize: mapSize, logger: logger, progress: progress) }
        env = try LMDBEnvironment(path: path, mapSize: mapSize, mustExist: mustExist)
        reader = try EventLogReader(env: env)
        let all = try Self.makeProjections(env: env)
        projections = try ProjectionSet(env: env, projections: all, logger: logger)
        keys = all[0] as! SigningKeysProjection
        labels = all[1] as! CurrentLabelsProjection
        stream = all[2] as! LabelStreamProjection
        flags = all[3] as! CopyrightFlagsProjection
        batches = all[4] as! ReviewBatchesProjection
        images = all[5] as! SensitiveImagesProjection
        audit = all[6] as! AuditProjection
        reports = all[7] as! ReportsProjection
        scanStats = all[8] as! ScanStatsProjection
        verdicts = all[9] as! VerdictCacheProjection
        trust = all[10] as! UploaderTrustProjection
        known = all[11] as! KnownContentProjection
        if readOnly {
            log = nil
        } else {
            // Take the writer lock first, so no other process appends while the models catch up.
            let log = try EventLog(env: env, observers: [projections], logger: logger)
            do { try projections.catchUp(reader: reader, progress: progress) } catch {
                log.close()
                throw error
            }
            self.log = log
        }
    }

    /// Brings the read models up to the log (rebuilding those whose schema changed) in an
    /// environment of its own, closed before the store's opens: LMDB keeps every page a write
    /// transaction dirtied cached (malloc'd) for the environment's life, and a large rebuild's
    /// write-out dirties up to ~512 MB of them, which a server would then hold for good. Skipped
    /// when another process writes (the writer's start-up reports it) or the log is damaged.
    static func rebuildChangedModels(path: String, mapSize: Int, logger: Logger, progress: ((String, UInt64, UInt64) -> Void)?) throws {
        guard FileManager.default.fileExists(atPath: path + "/data.mdb") else { return }
        let rebuilt = try EventLog.withWriterLockIfFree(path) { free -> Bool in
            guard free else { return false }
            let env = try LMDBEnvironment(path: path, mapSize: mapSize)
            let reader = try EventLogReader(env: env)
            guard try env.read({ try reader.endFault($0) }) == nil else { return false }
            let set = try ProjectionSet(env: env, projections: makeProjections(env: env), logger: logger)
            return try set.catchUp(reader: reader, progress: progress)
        }
        // The environment is closed: its cached pages, and the rebuild's freed buffers, go back.
        if rebuilt { malloc_trim(0) }
    }

    /// The writer, or a clear error when opened read-only.
    public func writer() throws -> EventLog {
        guard let log else { throw EventLogError.closed }
        return log
    }

    public func read<T>(_ body: (LMDBTransaction) throws -> T) throws -> T { try env.read(body) }

    /// For readers that do not bring the models up to date themselves (the CLI's read-only
    /// commands): refuses when a model does not reflect the whole log — marked invalid by an
    /// interrupted rebuild, built by another schema version, or behind — instead of answering
    /// from it as if it were complete. A running server keeps them current.
    /// `only`: the names of the models the caller reads (default: all).
    public func requireCurrentModels(only: Set<String>? = nil) throws {
        try read { txn in
            let head = try txn.last(reader.eventsDB).map { BigEndian.uint64($0.key) } ?? 0
            var stale: [String] = []
            for p in projections.projections where only?.contains(p.name) ?? true {
                switch try projections.standing(p, head: head, txn) {
                case .current: break
                case .ahead(let checkpoint): throw ProjectionError.aheadOfLog(p.name, checkpoint, head)
                case .unbuilt, .changed, .behind: stale.append(p.name)
                }
            }
            if !stale.isEmpty { throw ProjectionError.stale(stale) }
        }
    }

    public func close() { log?.close() }
}
