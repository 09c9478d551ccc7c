import EventLog
import Foundation
import LabelerCore
import Logging

/// All read models, kept in step with the log inside the writer's transaction, with one
/// checkpoint (last applied seq) and schema version per model in the same transaction.
public final class ProjectionSet: LogObserver, @unchecked Sendable {
    public let projections: [any Projection]
    let metaDB: MDB_dbi_t
    let env: LMDBEnvironment
    let logger: Logger

    struct Meta: Codable, Equatable {
        var version: Int
        var checkpoint: UInt64
    }

    public init(env: LMDBEnvironment, projections: [any Projection], logger: Logger) throws {
        self.env = env
        self.projections = projections
        self.logger = logger
        metaDB = try env.database("projections.meta")
    }

    public func apply(_ event: StoredEvent, _ decoded: LabelerEvent, in txn: LMDBTransaction) throws {
        for p in projections { try p.apply(event, decoded, in: txn) }
    }

    public func willCommit(head: UInt64, in txn: LMDBTransaction) throws {
        for p in projections { try setMeta(p, Meta(version: p.version, checkpoint: head), txn) }
    }

    func meta(_ p: any Projection, _ txn: LMDBTransaction) throws -> Meta? {
        try Record.get(Meta.self, txn, metaDB, Array(p.name.utf8))
    }

    func setMeta(_ p: any Projection, _ meta: Meta, _ txn: LMDBTransaction) throws {
        try Record.put(meta, txn, metaDB, Array(p.name.utf8))
    }

    /// The last seq a model applied (as stored with it), or nil if never built.
    public func checkpoint(of p: any Projection, _ txn: LMDBTransaction) throws -> UInt64? {
        try meta(p, txn)?.checkpoint
    }

    public func projection(named name: String) -> (any Projection)? { projections.first { $0.name == name } }

    /// Brings every model up to the log's head before the writer accepts appends: a model whose
    /// stored version differs from the code's is rebuilt from seq 1; one that is behind catches up.
    public func catchUp(reader: EventLogReader, progress: ((String, UInt64, UInt64) -> Void)? = nil) throws {
        let head = try reader.storedHead()
        for p in projections {
            let meta = try env.read { try self.meta(p, $0) }
            if meta?.version != p.version {
                if let meta {
                    logger.notice(
                        "projection schema changed: rebuilding",
                        metadata: ["projection": "\(p.name)", "stored.version": "\(meta.version)", "version": "\(p.version)"])
                } else if head > 0 {
                    logger.notice("projection is new: building", metadata: ["projection": "\(p.name)"])
                }
                try rebuild([p], reader: reader, progress: progress)
            } else if let meta, meta.checkpoint < head {
                logger.notice("projection behind the log: catching up", metadata: ["projection": "\(p.name)", "from": "\(meta.checkpoint)"])
                try replay([p], reader: reader, from: meta.checkpoint + 1, clear: false, progress: progress)
            } else if let meta, meta.checkpoint > head {
                logger.warning("projection ahead of the log (log truncated?): rebuilding", metadata: ["projection": "\(p.name)"])
                try rebuild([p], reader: reader, progress: progress)
            }
        }
    }

    /// Clears the given models and rebuilds them from seq 1 in ONE write transaction: readers
    /// (and a running server) see the old tables until the commit and the new ones after it, and
    /// appends made meanwhile wait for LMDB's writer lock, then apply to the rebuilt tables.
    public func rebuild(
        _ targets: [any Projection], reader: EventLogReader, progress: ((String, UInt64, UInt64) -> Void)? = nil
    ) throws {
        try replay(targets, reader: reader, from: 1, clear: true, progress: progress)
    }

    func replay(
        _ targets: [any Projection], reader: EventLogReader, from: UInt64, clear: Bool,
        progress: ((String, UInt64, UInt64) -> Void)?
    ) throws {
        let names = targets.map(\.name).joined(separator: ",")
        try env.write { txn in
            if clear { for p in targets { for db in p.databases { try txn.clear(db) } } }
            let head = try txn.last(reader.eventsDB).map { BigEndian.uint64($0.key) } ?? 0
            var next = from
            let pageSize = 20_000
            while next <= head {
                let page = try reader.readRaw(txn: txn, from: next, limit: pageSize)
                for (seq, bytes) in page {
                    let envelope: EventEnvelope
                    do { envelope = try EventEnvelope.decode(bytes) } catch {
                        throw EventLogError.corruptEvent(seq, "\(error)")
                    }
                    let stored = StoredEvent(envelope: envelope, bytes: bytes)
                    let decoded = try LabelerEvent.decode(envelope)
                    for p in targets { try p.apply(stored, decoded, in: txn) }
                }
                guard let last = page.last else { break }
                next = last.0 + 1
                progress?(names, last.0, head)
            }
            for p in targets { try setMeta(p, Meta(version: p.version, checkpoint: head), txn) }
        }
    }

    /// SHA-256 over every key and value of a model's tables, in order: two models with the same
    /// digest hold the same contents.
    public func digest(_ p: any Projection) throws -> [UInt8] {
        try env.read { txn in try Self.digest(p, txn) }
    }

    public static func digest(_ p: any Projection, _ txn: LMDBTransaction) throws -> [UInt8] {
        do {
            var all: [UInt8] = []
            var chunk: [UInt8] = []
            for db in p.databases {
                try txn.scan(db) { k, v in
                    chunk.append(contentsOf: BigEndian.bytes(UInt64(k.count)))
                    chunk.append(contentsOf: k)
                    chunk.append(contentsOf: BigEndian.bytes(UInt64(v.count)))
                    chunk.append(contentsOf: v)
                    if chunk.count > 1 << 20 {
                        all += SHA256.hash(chunk)
                        chunk.removeAll(keepingCapacity: true)
                    }
                    return true
                }
                chunk.append(0xff)
            }
            return SHA256.hash(all + SHA256.hash(chunk))
        }
    }
}
