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

        /// Canonical DAG-CBOR, as `Record.encode` writes it (keys by length: version, checkpoint).
        func encoded() -> [UInt8] {
            var w = CBORWriter(capacity: 32)
            w.writeMapHeader(2)
            w.writeText("version")
            w.writeInt(version)
            w.writeText("checkpoint")
            w.writeUnsigned(checkpoint)
            return w.bytes
        }
    }
    private let metaKeys: [[UInt8]]

    public init(env: LMDBEnvironment, projections: [any Projection], logger: Logger) throws {
        self.env = env
        self.projections = projections
        self.logger = logger
        metaDB = try env.database("projections.meta")
        metaKeys = projections.map { Array($0.name.utf8) }
    }

    public func apply(_ event: StoredEvent, _ decoded: LabelerEvent, in txn: LMDBTransaction) throws {
        for p in projections { try p.apply(event, decoded, in: txn) }
    }

    public func willCommit(head: UInt64, in txn: LMDBTransaction) throws {
        // Every commit of the writer moves every checkpoint: written by hand (the bytes the
        // generic encoder gives, which `meta` reads), with the keys made once.
        for (p, key) in zip(projections, metaKeys) { try txn.put(metaDB, key, Meta(version: p.version, checkpoint: head).encoded()) }
    }

    func meta(_ p: any Projection, _ txn: LMDBTransaction) throws -> Meta? {
        try Record.get(Meta.self, txn, metaDB, Array(p.name.utf8))
    }

    func setMeta(_ p: any Projection, _ meta: Meta, _ txn: LMDBTransaction) throws {
        try txn.put(metaDB, Array(p.name.utf8), meta.encoded())
    }

    /// The last seq a model applied (as stored with it), or nil if never built.
    public func checkpoint(of p: any Projection, _ txn: LMDBTransaction) throws -> UInt64? {
        try meta(p, txn)?.checkpoint
    }

    public func projection(named name: String) -> (any Projection)? { projections.first { $0.name == name } }

    /// How a model stands against a log whose last seq is `head`.
    public enum Standing: Equatable {
        case current
        /// Never built (a new model), or marked invalid: to build from seq 1.
        case unbuilt
        /// Built by another schema version (`stored`): to rebuild from seq 1.
        case changed(stored: Int)
        /// Built up to `checkpoint` < head: to catch up.
        case behind(checkpoint: UInt64)
        /// Built further than the log, whatever its version: events were lost under it. Rebuilding
        /// would erase the only sign of it, and the writer would hand out seen seqs again.
        case ahead(checkpoint: UInt64)
    }

    public func standing(_ p: any Projection, head: UInt64, _ txn: LMDBTransaction) throws -> Standing {
        guard let meta = try meta(p, txn) else { return head > 0 ? .unbuilt : .current }
        if meta.checkpoint > head { return .ahead(checkpoint: meta.checkpoint) }
        if meta.version == -1 { return .unbuilt }
        if meta.version != p.version { return .changed(stored: meta.version) }
        return meta.checkpoint < head ? .behind(checkpoint: meta.checkpoint) : .current
    }

    /// Models built further than the log's `head` (events were lost under them), with their checkpoints.
    public func aheadOfLog(head: UInt64, _ txn: LMDBTransaction) throws -> [(name: String, checkpoint: UInt64)] {
        try projections.compactMap { p in
            guard case .ahead(let checkpoint) = try standing(p, head: head, txn) else { return nil }
            return (p.name, checkpoint)
        }
    }

    /// Brings every model up to the log's head before the writer accepts appends: a model whose
    /// stored version differs from the code's is rebuilt from seq 1; one that is behind catches up;
    /// one ahead of the log stops it. Returns whether a model was rebuilt.
    @discardableResult
    public func catchUp(reader: EventLogReader, progress: ((String, UInt64, UInt64) -> Void)? = nil) throws -> Bool {
        let head = try reader.storedHead()
        var rebuilt = false
        for p in projections {
            switch try env.read({ try standing(p, head: head, $0) }) {
            case .current: continue
            case .ahead(let checkpoint): throw ProjectionError.aheadOfLog(p.name, checkpoint, head)
            case .behind(let checkpoint):
                logger.notice("projection behind the log: catching up", metadata: ["projection": "\(p.name)", "from": "\(checkpoint)"])
                try catchUp(p, reader: reader, from: checkpoint + 1, progress: progress)
                continue
            case .changed(let stored):
                logger.notice(
                    "projection schema changed: rebuilding", metadata: ["projection": "\(p.name)", "stored.version": "\(stored)", "version": "\(p.version)"])
            case .unbuilt:
                logger.notice("projection is not built (new, or a rebuild was interrupted): building", metadata: ["projection": "\(p.name)"])
            }
            try rebuild([p], reader: reader, exclusive: true, progress: progress)
            rebuilt = true
        }
        return rebuilt
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
            try rebuildFromStart(targets, reader: reader, to: nil, chunked: false, bufferBudget: bufferBudget, progress: progress)
        }
    }

    /// Memory a rebuild may hold in its write buffer before writing it out (a 1M-event log fits).
    public static let defaultBufferBudget = 1 << 30

    /// Rebuilds `targets` (tables of this set's environment) from `reader`'s log, which may be
    /// another environment's, up to `to` (default: its head), committing in chunks.
    public func replayChunked(
        _ targets: [any Projection], reader: EventLogReader, to: UInt64? = nil,
        bufferBudget: Int = ProjectionSet.defaultBufferBudget, progress: ((String, UInt64, UInt64) -> Void)?
    ) throws {
        try rebuildFromStart(targets, reader: reader, to: to, chunked: true, bufferBudget: bufferBudget, progress: progress)
    }

    /// Clears `targets` and applies the log to them from seq 1 up to `to` (default: the head).
    /// `chunked`: the models are marked invalid in a first commit, the tables written in seq
    /// order commit every 100,000 events, and the versions are set at the end; otherwise it is one
    /// transaction. Tables keyed in random order collect in a write buffer that is written out
    /// sorted when it is over `bufferBudget` and at the end.
    ///
    /// Two threads apply: the models whose tables are all buffered (the costliest first, up to
    /// half of the estimated cost, see `rebuildCost`) on a worker with a buffer of its own, the
    /// others on this thread, which owns the transaction and lends it to the worker through a
    /// gate for the rare LMDB access a buffered table needs (a miss once the buffer was written
    /// out). A model reads only its own tables, so the two groups never see each other's state.
    /// Each thread's buffer may hold up to `bufferBudget` (so a rebuild up to twice that).
    func rebuildFromStart(
        _ targets: [any Projection], reader: EventLogReader, to: UInt64?, chunked: Bool,
        bufferBudget: Int, progress: ((String, UInt64, UInt64) -> Void)?
    ) throws {
        var seen: Set<ObjectIdentifier> = []
        let targets = targets.filter { seen.insert(ObjectIdentifier($0)).inserted }  // a model named twice is one model
        let names = targets.map(\.name).joined(separator: ",")
        let (own, lent) = Self.splitForRebuild(targets)
        let buffer = LMDBWriteBuffer(budget: bufferBudget)
        let lentBuffer = LMDBWriteBuffer(budget: bufferBudget)
        var txn = try env.beginWrite()
        for p in targets { for db in p.databases { try txn.clear(db) } }
        let head = try to ?? (chunked ? reader.storedHead() : txn.last(reader.eventsDB).map { BigEndian.uint64($0.key) } ?? 0)
        if chunked {
            for p in targets { try setMeta(p, Meta(version: -1, checkpoint: 0), txn) }  // invalid until the end
            try txn.commit()
            txn = try env.beginWrite()
        }
        for p in own { for db in p.bufferedDatabases { try buffer.add(db, txn) } }
        for p in lent { for db in p.databases { try lentBuffer.add(db, txn) } }
        txn.buffer = buffer
        let gate = LMDBTransactionGate(txn)
        let worker = try lent.isEmpty ? nil : RebuildWorker(lent, LMDBTransaction(gate: gate, buffer: lentBuffer))
        defer {
            worker?.stop()
            gate.close()
        }
        // Decoding runs ahead on a thread of its own (with its own read snapshot of the log).
        let pages = DecodedPages(reader: reader, from: 1, to: head)
        defer { pages.stop() }
        var sinceCommit = 0
        let tStart = Date()
        while let page = try pages.next() {
            try worker?.push(page)
            try gate.locked {
                for (stored, decoded) in page {
                    for p in own { try p.apply(stored, decoded, in: txn) }
                    if buffer.isOverBudget { try buffer.flush(into: txn) }
                }
                sinceCommit += page.count
                if chunked && sinceCommit >= 100_000 {
                    sinceCommit = 0
                    txn.buffer = nil
                    try txn.commit()
                    txn = try env.beginWrite()
                    txn.buffer = buffer
                    gate.replace(txn)
                }
            }
            if let last = page.last { progress?(names, last.0.seq, head) }
        }
        let tApplied = Date()
        try worker?.finish()
        let tWorker = Date()
        try gate.locked {
            try LMDBWriteBuffer.flush([lentBuffer, buffer], into: txn)

            txn.buffer = nil
            for p in targets { try setMeta(p, Meta(version: p.version, checkpoint: head), txn) }
            try txn.commit()
        }
        logger.info(
            "rebuild applied and written",
            metadata: [
                "projections": "\(names)", "events": "\(head)", "threads": "\(lent.isEmpty ? 1 : 2)",
                "apply.seconds": "\(String(format: "%.2f", tApplied.timeIntervalSince(tStart)))",
                "worker.seconds": "\(String(format: "%.2f", tWorker.timeIntervalSince(tStart)))",
                "write.seconds": "\(String(format: "%.2f", Date().timeIntervalSince(tWorker)))",
            ])
    }

    /// The models a rebuild's worker thread applies: among those whose tables are all buffered,
    /// the costliest, up to half of the whole estimated cost.
    static func splitForRebuild(_ targets: [any Projection]) -> (own: [any Projection], lent: [any Projection]) {
        let total = targets.reduce(0) { $0 + $1.rebuildCost }
        let eligible = targets.enumerated()
            .filter { Set($0.element.bufferedDatabases) == Set($0.element.databases) }
            .sorted { ($0.element.rebuildCost, -$0.offset) > ($1.element.rebuildCost, -$1.offset) }
        var lent: Set<Int> = []
        var cost = 0
        for (i, p) in eligible where cost * 2 < total {
            lent.insert(i)
            cost += p.rebuildCost
        }
        let indexed = Array(targets.enumerated())
        let split = (own: indexed.filter { !lent.contains($0.offset) }.map(\.element), lent: indexed.filter { lent.contains($0.offset) }.map(\.element))
        // Each table belongs to one thread's buffer, or the two would see each other's writes out
        // of step: with any table shared, everything stays on one thread.
        let ownTables = Set(split.own.flatMap(\.databases))
        guard split.lent.allSatisfy({ $0.databases.allSatisfy { !ownTables.contains($0) } }) else { return (targets, []) }
        return split
    }

    /// Applies the log from `from` to the head to one model that is behind, in one transaction.
    func catchUp(
        _ p: any Projection, reader: EventLogReader, from: UInt64,
        bufferBudget: Int = ProjectionSet.defaultBufferBudget, progress: ((String, UInt64, UInt64) -> Void)?
    ) throws {
        let targets = [p]
        let names = p.name
        try env.write { txn in
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

/// A rebuild's page hand-off between the caller and a thread of its own (at most `capacity`
/// pages in between): the thread's end, with its failure if any, and stopping it early. The
/// subclasses say which side the thread is on.
class PageThread: @unchecked Sendable {
    let condition = NSCondition()
    var pages: [DecodedPages.Page] = []
    /// The thread has ended (after `failure`, if any).
    var finished = false
    var failure: (any Error)? = nil
    /// The caller asked the thread to stop early.
    var stopped = false
    let capacity = 4

    /// Starts `body` on a thread named `name`; its end or failure is recorded for the caller.
    func start(_ name: String, _ body: @escaping @Sendable () throws -> Void) {
        startNamedThread(name) { [self] in
            var error: (any Error)? = nil
            do { try body() } catch let e { error = e }
            condition.lock()
            finished = true
            failure = error
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Stops the thread early and waits until it has ended.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }
}

/// Applies some read models on a thread of its own during a rebuild, page by page, a few pages
/// behind the thread that feeds it.
final class RebuildWorker: PageThread, @unchecked Sendable {
    private var closed = false

    init(_ projections: [any Projection], _ txn: LMDBTransaction) {
        super.init()
        nonisolated(unsafe) let txn = txn  // used by that thread only
        start("rebuild-worker") { [self] in
            while let page = pop() {
                for (stored, decoded) in page {
                    for p in projections { try p.apply(stored, decoded, in: txn) }
                    if let b = txn.buffer, b.isOverBudget { try b.flush(into: txn) }
                }
            }
        }
    }

    private func pop() -> DecodedPages.Page? {
        condition.lock()
        defer { condition.unlock() }
        while pages.isEmpty && !closed && !stopped { condition.wait() }
        if stopped || pages.isEmpty { return nil }
        condition.broadcast()
        return pages.removeFirst()
    }

    /// Queues a page (waits while the worker is `capacity` pages behind); rethrows its failure.
    func push(_ page: DecodedPages.Page) throws {
        condition.lock()
        defer { condition.unlock() }
        while pages.count >= capacity && !finished { condition.wait() }
        if let failure { throw failure }
        if finished { throw EventLogError.closed }
        pages.append(page)
        condition.broadcast()
    }

    /// Waits until every queued page is applied; rethrows a failure.
    func finish() throws {
        condition.lock()
        defer { condition.unlock() }
        closed = true
        condition.broadcast()
        while !finished { condition.wait() }
        if let failure { throw failure }
    }
}

/// Reads and decodes log pages on a background thread, a few pages ahead of the consumer.
final class DecodedPages: PageThread, @unchecked Sendable {
    typealias Page = [(StoredEvent, LabelerEvent)]

    init(reader: EventLogReader, from: UInt64, to head: UInt64, pageSize: Int = 20_000) {
        super.init()
        start("replay-decoder") { [self] in
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
        }
    }

    private func push(_ page: Page) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while pages.count >= capacity && !stopped { condition.wait() }
        if stopped { return false }
        pages.append(page)
        condition.broadcast()
        return true
    }

    /// The next page, nil at the end; rethrows a decoding failure.
    func next() throws -> Page? {
        condition.lock()
        defer { condition.unlock() }
        while pages.isEmpty && !finished { condition.wait() }
        if !pages.isEmpty {
            let page = pages.removeFirst()
            condition.broadcast()
            return page
        }
        if let failure { throw failure }
        return nil
    }
}

public enum ProjectionError: Error, Sendable, CustomStringConvertible {
    /// A read model was built further than the log goes: events were lost (a cut-off log, or an
    /// older copy of `data.mdb` under newer read models).
    case aheadOfLog(String, UInt64, UInt64)
    /// Read models that do not reflect the whole log (see `ModerationStore.requireCurrentModels`).
    case stale([String])

    public var description: String {
        switch self {
        case .stale(let names):
            "read models \(names.joined(separator: ", ")) are not up to date with the log (a rebuild was interrupted, or another version built them): `labeler replay rebuild` or `labeler serve` brings them up to date"
        case .aheadOfLog(let name, let built, let head):
            "read model \(name) was built to seq \(built) but the log ends at seq \(head): events \(head + 1)...\(built) are missing; nothing will be appended. `labeler replay verify` audits it; `labeler replay export` and `import` make a new data directory from the events that remain"
        }
    }
}
