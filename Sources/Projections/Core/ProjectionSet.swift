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
                try rebuild([p], reader: reader, exclusive: true, progress: progress)
            } else if let meta, meta.checkpoint < head {
                logger.notice("projection behind the log: catching up", metadata: ["projection": "\(p.name)", "from": "\(meta.checkpoint)"])
                try replay([p], reader: reader, from: meta.checkpoint + 1, clear: false, progress: progress)
            } else if let meta, meta.checkpoint > head {
                logger.warning("projection ahead of the log (log truncated?): rebuilding", metadata: ["projection": "\(p.name)"])
                try rebuild([p], reader: reader, exclusive: true, progress: progress)
            }
        }
    }

    /// Clears the given models and rebuilds them from seq 1 in ONE write transaction: readers
    /// (and a running server) see the old tables until the commit and the new ones after it, and
    /// appends made meanwhile wait for LMDB's writer lock, then apply to the rebuilt tables.
    /// With `exclusive` (no other process can append: the caller holds the writer lock), the
    /// rebuild commits in chunks instead, which is several times faster for large logs: the
    /// models are marked invalid first, so a crash part-way leaves them to be rebuilt again.
    public func rebuild(
        _ targets: [any Projection], reader: EventLogReader, exclusive: Bool = false,
        bufferBudget: Int = ProjectionSet.defaultBufferBudget, progress: ((String, UInt64, UInt64) -> Void)? = nil
    ) throws {
        if exclusive {
            try replayChunked(targets, reader: reader, bufferBudget: bufferBudget, progress: progress)
        } else {
            try replay(targets, reader: reader, from: 1, clear: true, bufferBudget: bufferBudget, progress: progress)
        }
    }

    /// Memory a rebuild may hold in its write buffer before writing it out (a 1M-event log fits).
    public static let defaultBufferBudget = 1 << 30

    /// Rebuilds `targets` (tables of this set's environment) from `reader`'s log, which may be
    /// another environment's, up to `to` (default: its head), committing in chunks. Tables keyed
    /// in random order collect in a write buffer that is written out sorted when it is over
    /// `bufferBudget` and at the end.
    public func replayChunked(
        _ targets: [any Projection], reader: EventLogReader, to: UInt64? = nil,
        bufferBudget: Int = ProjectionSet.defaultBufferBudget, progress: ((String, UInt64, UInt64) -> Void)?
    ) throws {
        let names = targets.map(\.name).joined(separator: ",")
        let head = try to ?? reader.storedHead()
        let buffer = LMDBWriteBuffer(budget: bufferBudget)
        try env.write { txn in
            for p in targets {
                for db in p.databases { try txn.clear(db) }
                try setMeta(p, Meta(version: -1, checkpoint: 0), txn)  // invalid until the end
            }
            for p in targets { for db in p.bufferedDatabases { try buffer.add(db, txn) } }
        }
        let pages = DecodedPages(reader: reader, from: 1, to: head)
        defer { pages.stop() }
        var done = false
        while !done {
            // Unbuffered tables (seq-ordered appends) commit every 100,000 events; the buffer
            // carries over from one transaction to the next, and is written out when it is over
            // its budget, and at the end.
            try env.write { txn in
                txn.buffer = buffer
                defer { txn.buffer = nil }
                var applied = 0
                while applied < 100_000 {
                    guard let page = try pages.next() else {
                        done = true
                        break
                    }
                    for (stored, decoded) in page {
                        for p in targets { try p.apply(stored, decoded, in: txn) }
                        if buffer.isOverBudget { try buffer.flush(into: txn) }
                    }
                    applied += page.count
                    if let last = page.last { progress?(names, last.0.seq, head) }
                }
                if done { try buffer.flush(into: txn) }
            }
        }
        try env.write { txn in
            for p in targets { try setMeta(p, Meta(version: p.version, checkpoint: head), txn) }
        }
    }

    func replay(
        _ targets: [any Projection], reader: EventLogReader, from: UInt64, clear: Bool,
        bufferBudget: Int = ProjectionSet.defaultBufferBudget, progress: ((String, UInt64, UInt64) -> Void)?
    ) throws {
        let names = targets.map(\.name).joined(separator: ",")
        try env.write { txn in
            if clear { for p in targets { for db in p.databases { try txn.clear(db) } } }
            let head = try txn.last(reader.eventsDB).map { BigEndian.uint64($0.key) } ?? 0
            let buffer = LMDBWriteBuffer(budget: bufferBudget)
            for p in targets { for db in p.bufferedDatabases { try buffer.add(db, txn) } }
            // Decoding runs ahead on a thread of its own (with its own read snapshot of the log,
            // which this transaction does not change) while this thread applies.
            let pages = DecodedPages(reader: reader, from: from, to: head)
            defer { pages.stop() }
            txn.buffer = buffer
            defer { txn.buffer = nil }
            while let page = try pages.next() {
                for (stored, decoded) in page {
                    for p in targets { try p.apply(stored, decoded, in: txn) }
                    if buffer.isOverBudget { try buffer.flush(into: txn) }
                }
                if let last = page.last { progress?(names, last.0.seq, head) }
            }
            try buffer.flush(into: txn)
            txn.buffer = nil
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

/// Reads and decodes log pages on a background thread, a few pages ahead of the consumer.
final class DecodedPages: @unchecked Sendable {
    typealias Page = [(StoredEvent, LabelerEvent)]
    private let condition = NSCondition()
    private var ready: [Page] = []
    private var finished = false
    private var failure: (any Error)? = nil
    private var stopped = false
    private let capacity = 4

    init(reader: EventLogReader, from: UInt64, to head: UInt64, pageSize: Int = 20_000) {
        let thread = Thread { [self] in
            do {
                try reader.env.read { txn in
                    var next = from
                    while next <= head {
                        let raw = try reader.readRaw(txn: txn, from: next, limit: pageSize)
                        guard let last = raw.last else { break }
                        var page: Page = []
                        page.reserveCapacity(raw.count)
                        for (seq, bytes) in raw where seq <= head {
                            let envelope: EventEnvelope
                            do { envelope = try EventEnvelope.decode(bytes) } catch {
                                throw EventLogError.corruptEvent(seq, "\(error)")
                            }
                            page.append((StoredEvent(envelope: envelope, bytes: bytes), try LabelerEvent.decode(envelope)))
                        }
                        guard push(page) else { return }
                        next = last.0 + 1
                    }
                }
                finish(nil)
            } catch {
                finish(error)
            }
        }
        thread.name = "replay-decoder"
        thread.start()
    }

    private func push(_ page: Page) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while ready.count >= capacity && !stopped { condition.wait() }
        if stopped { return false }
        ready.append(page)
        condition.broadcast()
        return true
    }

    private func finish(_ error: (any Error)?) {
        condition.lock()
        finished = true
        failure = error
        condition.broadcast()
        condition.unlock()
    }

    /// The next page, nil at the end; rethrows a decoding failure.
    func next() throws -> Page? {
        condition.lock()
        defer { condition.unlock() }
        while ready.isEmpty && !finished { condition.wait() }
        if !ready.isEmpty {
            let page = ready.removeFirst()
            condition.broadcast()
            return page
        }
        if let failure { throw failure }
        return nil
    }

    /// Stops the decoder early and waits until it has let go of its snapshot.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }
}
