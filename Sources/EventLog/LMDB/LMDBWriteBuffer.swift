import CLMDB
import Dispatch
import Foundation
import Synchronization

/// Rebuilds only: collects the writes to some tables in memory, and later writes them into LMDB
/// sorted by key. Tables keyed by URI receive their keys in random order, and random B-tree
/// inserts (each a descent to a different leaf, each leaf copied again in every transaction that
/// touches it) were most of a rebuild's time; sorted writes into an empty table become appends
/// (`MDB_APPEND`: full pages, written once).
///
/// While a transaction has a buffer (`LMDBTransaction.buffer`), `get`, `put` and `delete` on a
/// buffered table go to the buffer first, and a read falls through to LMDB for keys the buffer
/// has not seen, so `apply` code sees exactly what it would see without one. Scans and counts of
/// a buffered table are refused (rebuilds do not use them). The buffer may outlive transactions:
/// a chunked rebuild commits its unbuffered tables as it goes and flushes this at the end (or
/// when it is over its memory budget).
public final class LMDBWriteBuffer {
    /// One table's changes: entries whose bytes live in an arena, and an open-addressing index over
    /// them. (A Dictionary of `[UInt8]` hashed every key byte by byte, and allocating and freeing
    /// millions of small arrays cost more than the B-tree inserts it was meant to save.) Entries
    /// are never removed; a deletion marks its entry.
    final class Table {
        /// An entry lives in the arena: this header, then the key's bytes (one cache line for
        /// the comparison of a probe). The value's bytes live elsewhere in the arena.
        struct Entry {
            var hash: Int
            var value: UnsafeRawPointer?
            var keyCount: UInt32
            /// `deleted`: the key is deleted (flushing deletes it from LMDB too, unless LMDB's
            /// table was empty).
            var valueCount: UInt32
            static let deleted = UInt32.max
            static let size = MemoryLayout<Entry>.stride
        }

        let dbi: MDB_dbi
        /// Every entry, in insertion order.
        private(set) var entries: [UnsafeMutableRawPointer] = []
        /// Per slot: the high 32 bits of the key's hash, and the entry's index + 1 (0: empty).
        /// The count is a power of two.
        private var slots: [UInt64] = []
        /// The buffer's arena, shared by its tables (freed by the buffer).
        private let arena: Arena
        /// LMDB's table held nothing when buffering began (then a miss needs no LMDB read).
        var backingEmpty: Bool

        init(dbi: MDB_dbi, backingEmpty: Bool, arena: Arena) {
            self.dbi = dbi
            self.backingEmpty = backingEmpty
            self.arena = arena
        }

        @inline(__always)
        static func header(_ p: UnsafeMutableRawPointer) -> UnsafeMutablePointer<Entry> { p.assumingMemoryBound(to: Entry.self) }

        @inline(__always)
        static func keyBytes(_ p: UnsafeRawPointer) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(start: p + Entry.size, count: Int(p.assumingMemoryBound(to: Entry.self).pointee.keyCount))
        }

        /// The value's bytes, nil if deleted.
        @inline(__always)
        static func valueBytes(_ p: UnsafeRawPointer) -> UnsafeRawBufferPointer? {
            let e = p.assumingMemoryBound(to: Entry.self).pointee
            return e.valueCount == Entry.deleted ? nil : UnsafeRawBufferPointer(start: e.value, count: Int(e.valueCount))
        }

        @inline(__always)
        static func hash(_ key: UnsafeRawBufferPointer) -> Int {
            var h = Hasher()
            h.combine(bytes: key)
            return h.finalize()
        }

        /// The entry holding `key`, or the slot where it would go.
        @inline(__always)
        private func find(_ key: UnsafeRawBufferPointer, _ hash: Int) -> (entry: UnsafeMutableRawPointer?, slot: Int) {
            if slots.isEmpty { return (nil, -1) }
            let mask = slots.count - 1
            let tag = UInt64(UInt(bitPattern: hash) >> 32) << 32
            var i = hash & mask
            return slots.withUnsafeBufferPointer { slots in
                while true {
                    let s = slots[i]
                    if s == 0 { return (nil, i) }
                    if s & 0xffff_ffff_0000_0000 == tag {
                        let p = entries[Int(s & 0xffff_ffff) - 1]
                        let e = Self.header(p)
                        if e.pointee.hash == hash && Int(e.pointee.keyCount) == key.count
                            && (key.count == 0 || memcmp(p + Entry.size, key.baseAddress!, key.count) == 0)
                        {
                            return (p, i)
                        }
                    }
                    i = (i + 1) & mask
                }
            }
        }

        func entry(_ key: [UInt8]) -> UnsafeMutableRawPointer? {
            key.withUnsafeBytes { k in find(k, Self.hash(k)).entry }
        }

        /// Sets `key`'s value (nil: deleted); returns the change in bytes held.
        func set(_ key: [UInt8], _ value: [UInt8]?) -> Int {
            key.withUnsafeBytes { k in
                let h = Self.hash(k)
                var (p, slot) = find(k, h)
                var stored: UnsafeRawPointer? = nil
                var count = Entry.deleted
                let before = arena.allocated
                if let value {
                    stored = value.withUnsafeBytes { arena.store($0) }
                    count = UInt32(value.count)
                }
                if let p {
                    Self.header(p).pointee.value = stored
                    Self.header(p).pointee.valueCount = count
                    return arena.allocated - before
                }
                if (entries.count + 1) * 4 > slots.count * 3 {
                    grow()
                    slot = find(k, h).slot
                }
                let n = Entry.size + k.count
                let q = arena.allocate(n)
                Self.header(q).initialize(to: Entry(hash: h, value: stored, keyCount: UInt32(k.count), valueCount: count))
                if k.count > 0 { (q + Entry.size).copyMemory(from: k.baseAddress!, byteCount: k.count) }
                entries.append(q)
                slots[slot] = Self.slot(h, entries.count)
                return arena.allocated - before + 16
            }
        }

        @inline(__always)
        private static func slot(_ hash: Int, _ entry: Int) -> UInt64 {
            UInt64(UInt(bitPattern: hash) >> 32) << 32 | UInt64(entry)
        }

        private func grow() {
            let n = max(1024, slots.count * 2)
            slots = [UInt64](repeating: 0, count: n)
            let mask = n - 1
            slots.withUnsafeMutableBufferPointer { slots in
                for (e, p) in entries.enumerated() {
                    let h = Self.header(p).pointee.hash
                    var i = h & mask
                    while slots[i] != 0 { i = (i + 1) & mask }
                    slots[i] = Self.slot(h, e + 1)
                }
            }
        }

        func removeAll() {
            entries = []
            slots = []
        }
    }

    /// Bump allocation in large blocks, freed all at once.
    final class Arena {
        private var blocks: [UnsafeMutableRawPointer] = []
        private var next: UnsafeMutableRawPointer? = nil
        private var remaining = 0
        /// Bytes handed out so far.
        private(set) var allocated = 0
        /// The last large value stored: a read model often writes the same value under several
        /// keys in a row (a label's JSON by seq and under each URI prefix), which is then held once.
        private var lastValue: UnsafeRawBufferPointer? = nil
        static let blockSize = 1 << 22
        static let sharedValueMinimum = 64

        deinit { free() }

        /// `n` bytes aligned to 8.
        func allocate(_ n: Int) -> UnsafeMutableRawPointer {
            let n = (n + 7) & ~7
            allocated += n
            if n > remaining || next == nil {
                let size = max(Self.blockSize, n)
                let block = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
                blocks.append(block)
                next = block
                remaining = size
            }
            let p = next!
            next = p + n
            remaining -= n
            return p
        }

        func store(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawPointer {
            let large = bytes.count >= Self.sharedValueMinimum
            if large, let last = lastValue, last.count == bytes.count, memcmp(last.baseAddress!, bytes.baseAddress!, bytes.count) == 0 {
                return last.baseAddress!
            }
            let p = allocate(bytes.count)
            if bytes.count > 0 { p.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
            if large { lastValue = UnsafeRawBufferPointer(start: p, count: bytes.count) }
            return UnsafeRawPointer(p)
        }

        func free() {
            for b in blocks { b.deallocate() }
            blocks = []
            next = nil
            remaining = 0
            allocated = 0
            lastValue = nil
        }
    }

    /// Indexed by dbi (small integers), nil for tables not buffered.
    private var tables: [Table?] = []
    private let arena = Arena()
    /// A rough count of the memory held (key and value bytes plus per-entry overhead).
    public private(set) var approximateBytes = 0
    public let budget: Int

    public init(budget: Int) { self.budget = budget }

    public var isOverBudget: Bool { approximateBytes > budget }

    /// Buffers writes to `dbi`; `txn` tells whether LMDB's table is empty now.
    public func add(_ dbi: MDB_dbi, _ txn: LMDBTransaction) throws(LMDBError) {
        let empty = try txn.count(dbi) == 0
        while tables.count <= Int(dbi) { tables.append(nil) }
        if tables[Int(dbi)] == nil { tables[Int(dbi)] = Table(dbi: dbi, backingEmpty: empty, arena: arena) }
    }

    @inline(__always)
    func table(_ dbi: MDB_dbi) -> Table? { Int(dbi) < tables.count ? tables[Int(dbi)] : nil }

    func put(_ t: Table, _ key: [UInt8], _ value: [UInt8]) { approximateBytes += t.set(key, value) }

    func delete(_ t: Table, _ key: [UInt8]) { approximateBytes += t.set(key, nil) }

    /// Writes every buffered change into `txn` in key order, table by table, and empties the
    /// buffer (its tables stay buffered). The tables are sorted in parallel first.
    public func flush(into txn: LMDBTransaction) throws(LMDBError) {
        try Self.flush([self], into: txn)
    }

    /// Flushes several buffers into one transaction. The tables are sorted on the other threads
    /// (the smallest first) while this one writes each table as soon as its order is ready.
    /// After a failure the buffers are unusable (partly written out): the caller aborts.
    public static func flush(_ buffers: [LMDBWriteBuffer], into txn: LMDBTransaction) throws(LMDBError) {
        if let gate = txn.gate {
            // A lent handle: write into the owner's transaction while holding its lock.
            try gate.withCurrent { (owner) throws(LMDBError) in try flush(buffers, into: owner) }
            return
        }
        // Each table is sorted by one thread and read-only meanwhile.
        nonisolated(unsafe) let all = buffers.flatMap { $0.tables.compactMap { $0 } }.sorted { $0.entries.count < $1.entries.count }
        let orders = Mutex([[Int32]](repeating: [], count: all.count))
        let ready = all.map { _ in DispatchSemaphore(value: 0) }
        // On a thread of its own, which takes part in `concurrentPerform`: the sorts progress even
        // when every thread of the shared pool is busy or blocked (this one waits below).
        startNamedThread("rebuild-sort") {
            DispatchQueue.concurrentPerform(iterations: all.count) { i in
                let order = Self.sortedOrder(all[i].entries)
                orders.withLock { $0[i] = order }
                ready[i].signal()
            }
        }
        // Wait for every sort even when a write fails: they read the tables' entries.
        var failure: LMDBError? = nil
        for (i, t) in all.enumerated() {
            ready[i].wait()
            guard failure == nil else { continue }
            let order = orders.withLock { o in
                defer { o[i] = [] }
                return o[i]
            }
            do { try flush(t, order, txn) } catch { failure = error }
            t.removeAll()
        }
        if let failure { throw failure }
        for b in buffers {
            b.arena.free()
            b.approximateBytes = 0
        }
    }

    private static func flush(_ t: Table, _ order: [Int32], _ txn: LMDBTransaction) throws(LMDBError) {
        guard !order.isEmpty else { return }
        var cursor: OpaquePointer?
        try LMDBError.check(mdb_cursor_open(txn.txn, t.dbi, &cursor), "cursor_open")
        defer { mdb_cursor_close(cursor) }
        // Keys above the table's last key are appended; the others (only when LMDB's table was
        // not empty) are ordinary puts, in order.
        var last: [UInt8]? = nil
        var k = MDB_val(), v = MDB_val()
        if mdb_cursor_get(cursor, &k, &v, MDB_LAST) == 0 {
            last = Array(UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size))
        }
        try t.entries.withUnsafeBufferPointer { (entries) throws(LMDBError) in
            for e in order {
                let entry = entries[Int(e)]
                let key = Table.keyBytes(entry)
                var appending = true
                if let l = last {
                    appending = l.withUnsafeBytes { Self.compare($0, key) < 0 }
                    if appending { last = nil }
                }
                k.mv_size = key.count
                k.mv_data = entry + Table.Entry.size
                let rc: Int32
                if let value = Table.valueBytes(entry) {
                    v.mv_size = value.count
                    v.mv_data = UnsafeMutableRawPointer(mutating: value.baseAddress ?? UnsafeRawPointer(entry))
                    rc = mdb_cursor_put(cursor, &k, &v, appending ? UInt32(MDB_APPEND) : 0)
                } else if appending || t.backingEmpty {
                    rc = 0  // never in LMDB
                } else {
                    rc = mdb_del(txn.txn, t.dbi, &k, nil)
                }
                if rc != 0 && rc != MDB_NOTFOUND { throw LMDBError(rc, "put (flush)") }
            }
        }
        t.backingEmpty = false
    }

    /// The entries' indices in key order. Keys of one table often share a long prefix (`at://did:
    /// plc:…`), so each is compared first by the 8 bytes after the common prefix, as an integer.
    static func sortedOrder(_ entries: [UnsafeMutableRawPointer]) -> [Int32] {
        guard let first = entries.first.map({ Table.keyBytes($0) }) else { return [] }
        var common = first.count
        for entry in entries where common > 0 {
            let key = Table.keyBytes(entry)
            let a = key.bindMemory(to: UInt8.self), f = first.bindMemory(to: UInt8.self)
            let n = min(common, key.count)
            var i = 0
            while i < n && a[i] == f[i] { i += 1 }
            common = i
        }
        struct Item {
            var prefix: UInt64
            var entry: Int32
        }
        var items = [Item]()
        items.reserveCapacity(entries.count)
        for (e, entry) in entries.enumerated() {
            let key = Table.keyBytes(entry)
            var p: UInt64 = 0
            for i in common..<(common + 8) { p = p << 8 | UInt64(i < key.count ? key[i] : 0) }
            items.append(Item(prefix: p, entry: Int32(e)))
        }
        entries.withUnsafeBufferPointer { all in
            items.sort { a, b in
                if a.prefix != b.prefix { return a.prefix < b.prefix }
                return compare(Table.keyBytes(all[Int(a.entry)]), Table.keyBytes(all[Int(b.entry)])) < 0
            }
        }
        return items.map(\.entry)
    }

    /// LMDB's default key order: bytewise, a prefix first.
    @inline(__always)
    static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let n = min(a.count, b.count)
        if n > 0 {
            let c = memcmp(a.baseAddress!, b.baseAddress!, n)
            if c != 0 { return Int(c) }
        }
        return a.count - b.count
    }
}
