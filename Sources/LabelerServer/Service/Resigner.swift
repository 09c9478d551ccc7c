import EventLog
import Foundation
import LabelerCore
import Logging
import Projections

/// Re-signs labels that an older key signed (spec: lazily, keeping `cts`), and keeps each
/// re-signed form in the `labels.resigned` table so it is computed once. Signatures are
/// deterministic (RFC 6979), so the table is a cache of a pure function of (label, key).
final class Resigner: @unchecked Sendable {
    let store: ModerationStore
    let key: SigningKey
    let did: String
    let table: MDB_dbi_t
    let logger: Logger
    private let queue = DispatchQueue(label: "labeler.resign-writes")
    private let pending = NSLock()
    private var pendingWrites: [(UInt64, [UInt8])] = []
    private var closed = false

    init(store: ModerationStore, key: SigningKey, did: String, logger: Logger) throws {
        self.store = store
        self.key = key
        self.did = did
        self.logger = logger
        table = try store.env.database("labels.resigned")
    }

    /// Epoch (seq of the key event) of the current key, and of the key in force at `seq`.
    func isStale(_ seq: UInt64, _ txn: LMDBTransaction) throws -> (stale: Bool, epoch: UInt64) {
        guard let current = try store.keys.currentKey(txn), let then = try store.keys.key(at: seq, txn) else { return (false, 0) }
        return (current.epoch != then.epoch, current.epoch)
    }

    func served(seq: UInt64, label: Label, _ txn: LMDBTransaction) throws -> Label {
        let (stale, epoch) = try isStale(seq, txn)
        guard stale, label.src == did else { return label }
        if let cached = try cachedBytes(seq, epoch, txn) { return try Label(dagCBOR: cached) }
        let resigned = label.signed(with: key)
        remember(seq, epoch, resigned.signedBytes())
        return resigned
    }

    func servedBytes(seq: UInt64, bytes: [UInt8], _ txn: LMDBTransaction) throws -> [UInt8] {
        let (stale, epoch) = try isStale(seq, txn)
        guard stale else { return bytes }
        if let cached = try cachedBytes(seq, epoch, txn) { return cached }
        let label = try Label(dagCBOR: bytes)
        guard label.src == did else { return bytes }
        let resigned = label.signed(with: key).signedBytes()
        remember(seq, epoch, resigned)
        return resigned
    }

    func cachedBytes(_ seq: UInt64, _ epoch: UInt64, _ txn: LMDBTransaction) throws -> [UInt8]? {
        guard let v = try txn.getBytes(table, BigEndian.bytes(seq)), v.count > 8, BigEndian.uint64(Array(v.prefix(8))) == epoch else {
            return nil
        }
        return Array(v.dropFirst(8))
    }

    /// Writes are batched on a queue of their own, never on the request path.
    func remember(_ seq: UInt64, _ epoch: UInt64, _ bytes: [UInt8]) {
        let first = pending.withLock { () -> Bool in
            guard !closed else { return false }
            pendingWrites.append((seq, BigEndian.bytes(epoch) + bytes))
            return pendingWrites.count == 1
        }
        guard first else { return }
        queue.asyncAfter(deadline: .now() + .milliseconds(50)) { [self] in flush() }
    }

    func flush() {
        let writes = pending.withLock { () -> [(UInt64, [UInt8])] in
            defer { pendingWrites.removeAll() }
            return pendingWrites
        }
        guard !writes.isEmpty else { return }
        do {
            try store.env.write { txn in for (seq, v) in writes { try txn.put(table, BigEndian.bytes(seq), v) } }
        } catch {
            logger.warning("could not keep re-signed labels", metadata: ["error": "\(error)", "count": "\(writes.count)"])
        }
    }

    func close() {
        queue.sync { flush() }
        pending.withLock { closed = true }
    }
}
