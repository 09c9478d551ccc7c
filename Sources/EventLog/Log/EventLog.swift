import CLMDB
import Foundation
import LabelerCore
import Logging
import Synchronization

/// The append-only event log in an LMDB environment: key = big-endian seq (from 1, strictly
/// increasing), value = the DAG-CBOR envelope. One writer thread drains queued appends into one
/// write transaction and one durable commit (group commit), then completes every caller.
public final class EventLog: @unchecked Sendable {
    public let env: LMDBEnvironment
    public let eventsDB: MDB_dbi
    let tipDB: MDB_dbi
    public let headSignal: HeadSignal
    public let logger: Logger
    let observers: [any LogObserver]
    let maxEventsPerCommit: Int

    private struct Pending {
        var events: [NewEvent]
        var decide: AppendDecision?
        var continuation: CheckedContinuation<[UInt64], any Error>
    }

    private let condition = NSCondition()
    private var queue: [Pending] = []
    private var closing = false
    private var writerDone = false
    // Owned by the writer thread after init.
    private var writerHead: UInt64
    private var writerLastHash: [UInt8]
    private let statsState = Mutex(AppendStats())

    public struct AppendStats: Sendable {
        public var commits = 0
        public var events = 0
        public var failedCommits = 0
        public var largestBatch = 0
        /// Commit batch sizes by power-of-two bucket upper bound (1, 2, 4, … 8192, +Inf as 0).
        public var batchBuckets: [Int: Int] = [:]
    }

    private let lockFD: Int32

    public init(
        env: LMDBEnvironment, observers: [any LogObserver] = [], maxEventsPerCommit: Int = 8192,
        logger: Logger = Logger(label: "labeler.eventlog")
    ) throws {
        let fd = try Self.takeWriterLock(env.path)
        lockFD = fd
        self.env = env
        self.observers = observers
        self.maxEventsPerCommit = maxEventsPerCommit
        self.logger = logger
        let db: MDB_dbi
        let last: (key: [UInt8], value: [UInt8])?
        let fault: (seq: UInt64, reason: String)?
        do {
            let reader = try EventLogReader(env: env)
            db = reader.eventsDB
            tipDB = reader.tipDB
            // Appending after a cut-off or altered end would reuse seqs that subscribers have seen.
            (last, fault) = try env.read { txn in (try txn.last(db), try reader.endFault(txn)) }
            if let fault { throw EventLogError.damaged(env.path, fault.reason) }
        } catch {
            Foundation.close(fd)
            throw error
        }
        eventsDB = db
        if let last {
            writerHead = BigEndian.uint64(last.key)
            writerLastHash = SHA256.hash(last.value)
        } else {
            writerHead = 0
            writerLastHash = EventEnvelope.genesisPrev
        }
        headSignal = HeadSignal(head: writerHead)
        startWriter()
    }

    /// Runs `body` holding the data directory's writer lock if no other process holds it
    /// (`body(true)`), or without it (`body(false)`) when a writer is running.
    public static func withWriterLockIfFree<T>(_ dir: String, _ body: (Bool) throws -> T) throws -> T {
        guard let fd = try? takeWriterLock(dir) else { return try body(false) }
        defer { Foundation.close(fd) }
        return try body(true)
    }

    /// One writing process per data directory: its in-memory head must be the truth.
    private static func takeWriterLock(_ dir: String) throws -> Int32 {
        let path = dir + "/writer.lock"
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw EventLogError.storage(LMDBError(errno, "open \(path)")) }
        // A child process being spawned (ffprobe, fpcalc) holds a copy of every descriptor until
        // its exec closes the close-on-exec ones, which can take a while when the spawner closes
        // descriptors one by one; a lock held only by such a child is released within moments.
        var locked = flock(fd, LOCK_EX | LOCK_NB) == 0
        var attempts = 0
        while !locked, errno == EWOULDBLOCK, attempts < 50 {
            attempts += 1
            usleep(20_000)
            locked = flock(fd, LOCK_EX | LOCK_NB) == 0
        }
        if !locked {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            Foundation.close(fd)
            throw EventLogError.locked(dir, holder ?? "")
        }
        ftruncate(fd, 0)
        let pid = Array("\(getpid())\n".utf8)
        _ = pid.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        return fd
    }

    deinit { releaseWriterLock() }

    private let lockReleased = Mutex(false)

    private func releaseWriterLock() {
        let release = lockReleased.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        if release { Foundation.close(lockFD) }
    }

    private func startWriter() { startNamedThread("eventlog-writer") { [self] in writerLoop() } }

    /// The last committed seq (0 for an empty log).
    public var head: UInt64 { headSignal.current }
    public var stats: AppendStats { statsState.withLock { $0 } }

    /// Appends events atomically (all or none) and returns their seqs once they are durable.
    @discardableResult
    public func append(_ events: [NewEvent]) async throws -> [UInt64] {
        try await enqueue(events, decide: nil)
    }

    @discardableResult
    public func append(_ event: NewEvent) async throws -> UInt64 {
        try await enqueue([event], decide: nil)[0]
    }

    /// Appends what `decide` returns after reading state inside the writer's transaction; the
    /// decision and the append are serialised with every other append. `decide` may run more
    /// than once: when the group commit it was part of fails, each request of it is tried again in
    /// a commit of its own. So it must set, never accumulate, what it reports to its caller.
    @discardableResult
    public func append(deciding decide: @escaping AppendDecision) async throws -> [UInt64] {
        try await enqueue([], decide: decide)
    }

    private func enqueue(_ events: [NewEvent], decide: AppendDecision?) async throws -> [UInt64] {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<[UInt64], any Error>) in
            condition.lock()
            if closing {
                condition.unlock()
                c.resume(throwing: EventLogError.closed)
                return
            }
            queue.append(Pending(events: events, decide: decide, continuation: c))
            condition.signal()
            condition.unlock()
        }
    }

    /// Stops accepting appends, lets the writer finish everything queued, and waits for it.
    public func close() {
        condition.lock()
        if writerDone {
            condition.unlock()
            return
        }
        closing = true
        condition.broadcast()
        while !writerDone { condition.wait() }
        condition.unlock()
        releaseWriterLock()
        headSignal.shutdown()
    }

    public var isClosed: Bool {
        condition.lock()
        defer { condition.unlock() }
        return closing
    }

    private func writerLoop() {
        while true {
            condition.lock()
            while queue.isEmpty && !closing { condition.wait() }
            if queue.isEmpty {
                writerDone = true
                condition.broadcast()
                condition.unlock()
                return
            }
            var take = 0
            var count = 0
            while take < queue.count, take == 0 || count + queue[take].events.count <= maxEventsPerCommit {
                count += max(1, queue[take].events.count)
                take += 1
            }
            let batch = Array(queue[..<take])
            queue.removeFirst(take)
            condition.unlock()
            commit(batch)
        }
    }

    private func commit(_ batch: [Pending]) {
        var results: [Result<[UInt64], any Error>] = []
        results.reserveCapacity(batch.count)
        var head = writerHead
        var lastHash = writerLastHash
        let now = Datetime.nowMicros()
        var appended = 0
        do {
            let txn = try LMDBTransaction(env: env, readOnly: false)
            do {
                for pending in batch {
                    var events = pending.events
                    if let decide = pending.decide {
                        do { events = try decide(txn) } catch {
                            results.append(.failure(EventLogError.rejected(error)))
                            continue
                        }
                    }
                    // Decode every event of this request before writing any, so a malformed
                    // event fails only its own request.
                    var envelopes: [(EventEnvelope, LabelerEvent)] = []
                    envelopes.reserveCapacity(events.count)
                    do {
                        var seq = head
                        for e in events {
                            seq += 1
                            let envelope = EventEnvelope(
                                seq: seq, recordedAt: now, type: e.type, v: e.v, actor: e.actor.value, storage: e.storage,
                                prev: [])
                            envelopes.append((envelope, try e.typed ?? LabelerEvent.decode(envelope)))
                        }
                    } catch {
                        results.append(.failure(EventLogError.rejected(error)))
                        continue
                    }
                    var seqs: [UInt64] = []
                    seqs.reserveCapacity(events.count)
                    for (var envelope, decoded) in envelopes {
                        head += 1
                        envelope.prev = lastHash
                        let bytes = envelope.encoded()
                        try txn.put(eventsDB, BigEndian.bytes(head), bytes, append: true)
                        lastHash = SHA256.hash(bytes)
                        if !observers.isEmpty {
                            let stored = StoredEvent(envelope: envelope, bytes: bytes)
                            for o in observers { try o.apply(stored, decoded, in: txn) }
                        }
                        seqs.append(head)
                    }
                    appended += events.count
                    results.append(.success(seqs))
                }
                if head != writerHead {
                    try reader.recordTip(seq: head, hash: lastHash, txn)
                    for o in observers { try o.willCommit(head: head, in: txn) }
                }
                try txn.commit()
            } catch {
                txn.abort()
                throw error
            }
        } catch {
            // One request's failure (a key too long to store, a read model refusing it) must not
            // fail the others that happened to share its commit: each is tried again on its own.
            if batch.count > 1 {
                for p in batch { commit([p]) }
                return
            }
            let failure: EventLogError =
                if let e = error as? LMDBError { .storage(Self.explain(e, dir: env.path)) } else if let e = error as? EventLogError {
                    e
                } else {
                    .rejected(error)
                }
            logger.error("append batch failed", metadata: ["error": "\(failure)", "batch.requests": "\(batch.count)"])
            statsState.withLock { $0.failedCommits += 1 }
            for p in batch { p.continuation.resume(throwing: failure) }
            return
        }
        writerHead = head
        writerLastHash = lastHash
        statsState.withLock { s in
            s.commits += 1
            s.events += appended
            s.largestBatch = max(s.largestBatch, appended)
            var bucket = 1
            while bucket < appended && bucket < 8192 { bucket *= 2 }
            s.batchBuckets[appended > 8192 ? 0 : bucket, default: 0] += 1
        }
        // The head moves before anyone is answered; the appenders are answered before the
        // subscribers are woken, so a thousand streams do not delay an acknowledgement.
        let wakeups = headSignal.advance(head)
        for (p, r) in zip(batch, results) { p.continuation.resume(with: r) }
        wakeups.wake()
    }

    /// LMDB reports a short write as EIO (errno is lost). When the data directory's filesystem is
    /// (nearly) full at that moment, it was a full disk: say so, so callers answer "retry later".
    static func explain(_ e: LMDBError, dir: String) -> LMDBError {
        guard e.code == EIO else { return e }
        var st = statvfs()
        guard statvfs(dir, &st) == 0 else { return e }
        let free = UInt64(st.f_bavail) * UInt64(st.f_frsize)
        return free < 16 << 20 ? LMDBError(ENOSPC, "\(e.operation) (short write, \(free) bytes free)") : e
    }
}
