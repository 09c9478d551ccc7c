import CLMDB
import Foundation

/// One LMDB transaction. Values returned by `get` and cursors point into the map and are valid only
/// until the transaction ends: copy them out (`getBytes`) before that.
public final class LMDBTransaction {
    let txn: OpaquePointer
    public let readOnly: Bool
    private var finished = false
    /// Rebuilds only: writes to the buffer's tables collect there (see `LMDBWriteBuffer`).
    public var buffer: LMDBWriteBuffer?
    /// Set on a handle that another thread's write transaction lends (see `LMDBTransactionGate`):
    /// everything that reaches LMDB goes to the gate's current transaction, under its lock.
    let gate: LMDBTransactionGate?

    init(env: LMDBEnvironment, readOnly: Bool) throws(LMDBError) {
        var t: OpaquePointer?
        try LMDBError.check(mdb_txn_begin(env.env, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &t), "txn_begin")
        txn = t!
        self.readOnly = readOnly
        gate = nil
    }

    /// A handle for a second thread of a rebuild: its buffered tables are its own; any LMDB
    /// access waits for the gate's lock and uses the owner's current transaction.
    public init(gate: LMDBTransactionGate, buffer: LMDBWriteBuffer) throws(LMDBError) {
        self.gate = gate
        self.buffer = buffer
        txn = try gate.withCurrent { (t) throws(LMDBError) in t.txn }  // not used: every access goes through the gate
        readOnly = false
        finished = true  // nothing of its own to commit or abort
    }

    deinit { if !finished { mdb_txn_abort(txn) } }

    public func commit() throws(LMDBError) {
        if gate != nil { throw LMDBError(EINVAL, "commit of a lent transaction") }
        finished = true
        try LMDBError.check(mdb_txn_commit(txn), "commit")
    }

    public func abort() {
        guard !finished else { return }
        finished = true
        mdb_txn_abort(txn)
    }

    /// Calls `body` with the value stored under `key`, or nil.
    public func get<R>(_ dbi: MDB_dbi, _ key: [UInt8], _ body: (UnsafeRawBufferPointer?) throws -> R) throws -> R {
        if let buffer, let t = buffer.table(dbi) {
            if let e = t.entry(key) { return try body(LMDBWriteBuffer.Table.valueBytes(e)) }
            if t.backingEmpty { return try body(nil) }
        }
        if let gate { return try gate.withCurrent { try $0.get(dbi, key, body) } }
        var k = MDB_val(), v = MDB_val()
        let rc = key.withUnsafeBytes { kb -> Int32 in
            k.mv_size = kb.count
            k.mv_data = UnsafeMutableRawPointer(mutating: kb.baseAddress)
            return mdb_get(txn, dbi, &k, &v)
        }
        if rc == MDB_NOTFOUND { return try body(nil) }
        try LMDBError.check(rc, "get")
        return try body(UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }

    public func getBytes(_ dbi: MDB_dbi, _ key: [UInt8]) throws -> [UInt8]? {
        try get(dbi, key) { $0.map { Array($0) } }
    }

    public func put(_ dbi: MDB_dbi, _ key: [UInt8], _ value: [UInt8], append: Bool = false) throws(LMDBError) {
        if let buffer, let t = buffer.table(dbi) {
            buffer.put(t, key, value)
            return
        }
        if let gate { return try gate.withCurrent { (t) throws(LMDBError) in try t.put(dbi, key, value, append: append) } }
        var k = MDB_val(), v = MDB_val()
        let rc = key.withUnsafeBytes { kb in
            value.withUnsafeBytes { vb in
                k.mv_size = kb.count
                k.mv_data = UnsafeMutableRawPointer(mutating: kb.baseAddress)
                v.mv_size = vb.count
                v.mv_data = UnsafeMutableRawPointer(mutating: vb.baseAddress ?? UnsafeRawPointer(kb.baseAddress))
                return mdb_put(txn, dbi, &k, &v, append ? UInt32(MDB_APPEND) : 0)
            }
        }
        try LMDBError.check(rc, "put")
    }

    @discardableResult
    public func delete(_ dbi: MDB_dbi, _ key: [UInt8]) throws(LMDBError) -> Bool {
        if let buffer, let t = buffer.table(dbi) {
            let existed: Bool
            if let e = t.entry(key) {
                existed = LMDBWriteBuffer.Table.valueBytes(e) != nil
            } else if t.backingEmpty {
                existed = false
            } else {
                existed = try lmdbContains(dbi, key)
            }
            buffer.delete(t, key)
            return existed
        }
        if let gate { return try gate.withCurrent { (t) throws(LMDBError) in try t.delete(dbi, key) } }
        var k = MDB_val()
        let rc = key.withUnsafeBytes { kb in
            k.mv_size = kb.count
            k.mv_data = UnsafeMutableRawPointer(mutating: kb.baseAddress)
            return mdb_del(txn, dbi, &k, nil)
        }
        if rc == MDB_NOTFOUND { return false }
        try LMDBError.check(rc, "del")
        return true
    }

    private func lmdbContains(_ dbi: MDB_dbi, _ key: [UInt8]) throws(LMDBError) -> Bool {
        if let gate { return try gate.withCurrent { (t) throws(LMDBError) in try t.lmdbContains(dbi, key) } }
        var k = MDB_val(), v = MDB_val()
        let rc = key.withUnsafeBytes { kb in
            k.mv_size = kb.count
            k.mv_data = UnsafeMutableRawPointer(mutating: kb.baseAddress)
            return mdb_get(txn, dbi, &k, &v)
        }
        if rc == MDB_NOTFOUND { return false }
        try LMDBError.check(rc, "get")
        return true
    }

    /// Refuses whole-table reads and changes of a buffered table (its contents are split between
    /// the buffer and LMDB until the buffer is flushed).
    @inline(__always)
    private func checkUnbuffered(_ dbi: MDB_dbi, _ operation: String) throws(LMDBError) {
        if let buffer, buffer.table(dbi) != nil { throw LMDBError(EINVAL, "\(operation) of a buffered table") }
    }

    /// Empties a database (keeps its handle).
    public func clear(_ dbi: MDB_dbi) throws(LMDBError) {
        try checkUnbuffered(dbi, "drop")
        if let gate { return try gate.withCurrent { (t) throws(LMDBError) in try t.clear(dbi) } }
        try LMDBError.check(mdb_drop(txn, dbi, 0), "drop")
    }

    public func count(_ dbi: MDB_dbi) throws(LMDBError) -> Int {
        try checkUnbuffered(dbi, "stat")
        if let gate { return try gate.withCurrent { (t) throws(LMDBError) in try t.count(dbi) } }
        var stat = MDB_stat()
        try LMDBError.check(mdb_stat(txn, dbi, &stat), "stat")
        return stat.ms_entries
    }

    /// Iterates keys ≥ `from` (or from the first key) in order while `body` returns true.
    /// With `reverse`, iterates keys ≤ `from` (or from the last key) downwards.
    public func scan(
        _ dbi: MDB_dbi, from: [UInt8]? = nil, reverse: Bool = false,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try checkUnbuffered(dbi, "scan")
        if let gate { return try gate.withCurrent { try $0.scan(dbi, from: from, reverse: reverse, body) } }
        var cursor: OpaquePointer?
        try LMDBError.check(mdb_cursor_open(txn, dbi, &cursor), "cursor_open")
        defer { mdb_cursor_close(cursor) }
        var k = MDB_val(), v = MDB_val()
        var rc: Int32
        if let from {
            rc = from.withUnsafeBytes { kb in
                k.mv_size = kb.count
                k.mv_data = UnsafeMutableRawPointer(mutating: kb.baseAddress)
                return mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE)
            }
            if reverse {
                if rc == MDB_NOTFOUND {
                    rc = mdb_cursor_get(cursor, &k, &v, MDB_LAST)
                } else if rc == 0 {
                    let exact = from.withUnsafeBytes { fb in
                        UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size).elementsEqual(fb)
                    }
                    if !exact { rc = mdb_cursor_get(cursor, &k, &v, MDB_PREV) }
                }
            }
        } else {
            rc = mdb_cursor_get(cursor, &k, &v, reverse ? MDB_LAST : MDB_FIRST)
        }
        while rc == 0 {
            let key = UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size)
            let value = UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
            guard try body(key, value) else { return }
            rc = mdb_cursor_get(cursor, &k, &v, reverse ? MDB_PREV : MDB_NEXT)
        }
        if rc != MDB_NOTFOUND { try LMDBError.check(rc, "cursor_get") }
    }

    /// The last key and value of a database, copied out.
    public func last(_ dbi: MDB_dbi) throws -> (key: [UInt8], value: [UInt8])? {
        var result: ([UInt8], [UInt8])? = nil
        try scan(dbi, reverse: true) { k, v in
            result = (Array(k), Array(v))
            return false
        }
        return result
    }
}

/// Rebuilds only: lends one thread's write transaction to others (LMDB allows one write
/// transaction, used by one thread at a time). The owner uses the transaction only inside
/// `locked`, where it may also commit and `replace` it; a lent handle
/// (`LMDBTransaction(gate:buffer:)`) takes the lock for each LMDB access (so the body of a `get`
/// or `scan` on a lent handle must not use the transaction again: the lock is not recursive).
/// LMDB's writer mutex is taken and released only by the owner's thread (begin, commit, abort);
/// the calls in between have no thread affinity and the lock orders them. When `locked` fails,
/// the gate is closed: lent handles get an error instead of a transaction that has ended.
public final class LMDBTransactionGate: @unchecked Sendable {
    private let lock = NSLock()
    private var current: LMDBTransaction?

    public init(_ current: LMDBTransaction) { self.current = current }

    /// Runs the owner's `body` holding the lock; closes the gate if it throws.
    public func locked<R>(_ body: () throws -> R) throws -> R {
        lock.lock()
        defer { lock.unlock() }
        do { return try body() } catch {
            current = nil
            throw error
        }
    }

    /// Replaces the transaction (inside `locked`, after committing the previous one).
    public func replace(_ txn: LMDBTransaction) { current = txn }

    /// Closes the gate (the owner is about to end its transaction).
    public func close() {
        lock.lock()
        current = nil
        lock.unlock()
    }

    func withCurrent<R>(_ body: (LMDBTransaction) throws -> R) throws -> R {
        lock.lock()
        defer { lock.unlock() }
        guard let current else { throw LMDBError(EINVAL, "the rebuild's transaction has ended") }
        return try body(current)
    }

    func withCurrent<R>(_ body: (LMDBTransaction) throws(LMDBError) -> R) throws(LMDBError) -> R {
        lock.lock()
        defer { lock.unlock() }
        guard let current else { throw LMDBError(EINVAL, "the rebuild's transaction has ended") }
        return try body(current)
    }
}

/// Big-endian key encodings so that LMDB's bytewise order is numeric order.
public enum BigEndian {
    @inline(__always)
    public static func bytes(_ v: UInt64) -> [UInt8] {
        withUnsafeBytes(of: v.bigEndian) { Array($0) }
    }

    @inline(__always)
    public static func uint64(_ b: UnsafeRawBufferPointer) -> UInt64 {
        guard b.count >= 8 else { return 0 }
        var v: UInt64 = 0
        for i in 0..<8 { v = v << 8 | UInt64(b[i]) }
        return v
    }

    public static func uint64(_ b: [UInt8]) -> UInt64 { b.withUnsafeBytes { uint64($0) } }
}
