import EventLog
import Foundation
import LabelerCore
import LabelerTestSupport
import Projections
import Testing

@testable import Replay

/// `verify` on copies of a real data directory, each with one kind of damage.
struct VerifyTests {
    /// A data directory with ~600 events of every kind, written through the real store.
    static func makeDataDir() async throws -> TempDir {
        let dir = TempDir()
        let store = try ModerationStore(path: dir.path)
        var gen = RandomEvents(seed: 42)
        try await store.writer().append(gen.identity())
        for _ in 0..<60 { try await store.writer().append((0..<10).map { _ in gen.next() }) }
        store.close()
        return dir
    }

    static func copy(_ dir: TempDir) throws -> TempDir {
        let c = TempDir()
        for f in ["data.mdb"] {
            try FileManager.default.copyItem(atPath: dir.path + "/" + f, toPath: c.path + "/" + f)
        }
        return c
    }

    /// Applies raw damage to the log of a copy.
    static func damage(_ dir: TempDir, _ body: (LMDBTransaction, MDB_dbi_t) throws -> Void) throws {
        let env = try LMDBEnvironment(path: dir.path)
        let db = try env.database("events")
        try env.write { try body($0, db) }
    }

    /// Deletes the log's last `count` events (only the events); returns the head it had.
    static func cutOff(_ dir: TempDir, last count: UInt64) throws -> UInt64 {
        var head: UInt64 = 0
        try damage(dir) { txn, db in
            head = BigEndian.uint64(try txn.last(db)!.key)
            for s in (head - count + 1)...head { try txn.delete(db, BigEndian.bytes(s)) }
        }
        return head
    }

    static func labelSeqs(_ dir: TempDir) throws -> [UInt64] {
        let reader = try EventLogReader(env: LMDBEnvironment(path: dir.path))
        return try reader.read(from: 1, limit: 10_000).filter { $0.envelope.type == LabelApplied.eventType }.map(\.seq)
    }

    @Test func anUntouchedDirectoryVerifies() async throws {
        let dir = try await Self.makeDataDir()
        let c = try Self.copy(dir)
        let r = try Verify.run(dataDir: c.path)
        #expect(r.ok, "\(String(describing: r.fault)) \(r.projectionMismatches)")
        #expect(r.events > 500 && r.labels > 100 && r.keys >= 1, "\(r.events) \(r.labels) \(r.keys)")
    }

    @Test func aFlippedByteIsCaught() async throws {
        let dir = try await Self.makeDataDir()
        let c = try Self.copy(dir)
        try Self.damage(c) { txn, db in
            var bytes = try txn.getBytes(db, BigEndian.bytes(300))!
            bytes[bytes.count - 3] ^= 0x01
            try txn.put(db, BigEndian.bytes(300), bytes)
        }
        let r = try Verify.run(dataDir: c.path)
        #expect(r.fault?.seq == 300 || r.fault?.seq == 301, "\(String(describing: r.fault))")
    }

    @Test func aDeletedEventIsCaught() async throws {
        let dir = try await Self.makeDataDir()
        let c = try Self.copy(dir)
        try Self.damage(c) { txn, db in try txn.delete(db, BigEndian.bytes(250)) }
        let r = try Verify.run(dataDir: c.path)
        #expect(r.fault?.seq == 250, "\(String(describing: r.fault))")
    }

    @Test func twoSwappedEventsAreCaught() async throws {
        let dir = try await Self.makeDataDir()
        let c = try Self.copy(dir)
        try Self.damage(c) { txn, db in
            let a = try txn.getBytes(db, BigEndian.bytes(200))!
            let b = try txn.getBytes(db, BigEndian.bytes(201))!
            try txn.put(db, BigEndian.bytes(200), b)
            try txn.put(db, BigEndian.bytes(201), a)
        }
        let r = try Verify.run(dataDir: c.path)
        #expect(r.fault?.seq == 200, "\(String(describing: r.fault))")
    }

    @Test func aTruncatedLogIsCaught() async throws {
        let dir = try await Self.makeDataDir()
        let c = try Self.copy(dir)
        let head = try Self.cutOff(c, last: 10)
        let r = try Verify.run(dataDir: c.path)
        #expect(r.fault?.seq == head - 9, "\(String(describing: r.fault))")
    }

    @Test func analteredSignatureIsCaughtEvenWithTheChainRewritten() async throws {
        let dir = try await Self.makeDataDir()
        let target = try Self.labelSeqs(dir).first { $0 > 100 }!
        // Simple forgery: only the label changes, so the chain breaks right after it.
        let simple = try Self.copy(dir)
        try Self.damage(simple) { txn, db in
            var env = try EventEnvelope.decode(try txn.getBytes(db, BigEndian.bytes(target))!)
            var label = try Label(cbor: env.payload["label"]!)
            label.sig![10] ^= 0xff
            env.payload = LabelApplied(label: label).event(actor: .system).payload
            try txn.put(db, BigEndian.bytes(target), env.encoded())
        }
        let r1 = try Verify.run(dataDir: simple.path)
        #expect(r1.fault?.seq == target, "\(String(describing: r1.fault))")

        // A careful forger re-chains every later event: the signature still gives it away.
        let careful = try Self.copy(dir)
        try Self.damage(careful) { txn, db in
            let head = BigEndian.uint64(try txn.last(db)!.key)
            var prev: [UInt8] = []
            for s in target...head {
                var env = try EventEnvelope.decode(try txn.getBytes(db, BigEndian.bytes(s))!)
                if s == target {
                    var label = try Label(cbor: env.payload["label"]!)
                    label.val = "forged"
                    env.payload = LabelApplied(label: label).event(actor: .system).payload
                } else {
                    env.prev = prev
                }
                let bytes = env.encoded()
                try txn.put(db, BigEndian.bytes(s), bytes)
                prev = SHA256.hash(bytes)
            }
        }
        let r2 = try Verify.run(dataDir: careful.path)
        #expect(r2.fault?.seq == target, "\(String(describing: r2.fault))")
        #expect(r2.fault?.reason.contains("signature") == true)
    }

    /// The log records its end with every commit: a log cut off with its read models cut off
    /// too (so no checkpoint is ahead), or whose very last event was changed (no later `prev`
    /// covers it), is still caught; the server and `rebuild` refuse it instead of erasing the sign.
    @Test func aCutOffOrAlteredEndIsCaughtByTheRecordedTip() async throws {
        let dir = try await Self.makeDataDir()
        let cut = try Self.copy(dir)
        let head = try Self.cutOff(cut, last: 3)
        do {  // the read models' checkpoints moved back too: only the tip knows
            let env = try LMDBEnvironment(path: cut.path)
            let meta = try env.database("projections.meta")
            let names = try ModerationStore.makeProjections(env: env).map(\.name)
            try env.write { txn in
                for n in names { try txn.put(meta, Array(n.utf8), (["version": 1, "checkpoint": CBOR(Int(head - 3))] as CBOR).encoded()) }
            }
        }
        let r = try Verify.run(dataDir: cut.path, checkProjections: false)
        #expect(r.fault?.seq == head - 2, "\(String(describing: r.fault))")
        #expect(throws: ReplayError.self) { try Rebuild.run(dataDir: cut.path) }
        #expect {
            try ModerationStore(path: cut.path).close()
        } throws: { "\($0)".contains("missing (truncated)") }

        let altered = try Self.copy(dir)
        try Self.damage(altered) { txn, db in
            let last = try txn.last(db)!
            var env = try EventEnvelope.decode(last.value)
            env.actor = "mallory"
            try txn.put(db, last.key, env.encoded())
        }
        let r2 = try Verify.run(dataDir: altered.path, checkProjections: false)
        #expect(r2.fault?.seq == head, "\(String(describing: r2.fault))")
        #expect(r2.fault?.reason.contains("altered") == true)
        // An export would carry the altered event on under a fresh end line: refused, unless it stops before it.
        let reader = try EventLogReader(env: LMDBEnvironment(path: altered.path))
        #expect(throws: ReplayError.self) { try Export.run(reader: reader) { _ in } }
        #expect(try Export.run(reader: reader, to: head - 1) { _ in } == head - 1)
    }

    /// Read models built further than the log (an older `data.mdb` under newer models) stop
    /// start-up: rebuilding them would hide the loss, and the writer would reuse seen seqs.
    @Test func readModelsAheadOfTheLogStopStartUp() async throws {
        let dir = try await Self.makeDataDir()
        let c = try Self.copy(dir)
        let env = try LMDBEnvironment(path: c.path)
        let meta = try env.database("projections.meta")
        let tip = try env.database("events.tip")
        try env.write { txn in
            try txn.delete(tip, Array("tip".utf8))  // as a log from before the tip was recorded
            try txn.put(meta, Array("audit".utf8), (["version": 2, "checkpoint": 100_000] as CBOR).encoded())
        }
        #expect(throws: ProjectionError.self) { try ModerationStore(path: c.path).close() }
        #expect(throws: ReplayError.self) { try Rebuild.run(dataDir: c.path) }
    }

    /// A mistyped --data-dir is an error, and nothing is created there.
    @Test func commandsOnAMissingDirectoryCreateNothing() throws {
        let parent = TempDir()
        let missing = parent.path + "/typo"
        #expect(throws: DataDirectoryError.self) { try Verify.run(dataDir: missing) }
        #expect(throws: DataDirectoryError.self) { try Rebuild.run(dataDir: missing) }
        #expect(throws: DataDirectoryError.self) { try ModerationStore(path: missing, readOnly: true, mustExist: true) }
        #expect(!FileManager.default.fileExists(atPath: missing))
        FileManager.default.createFile(atPath: missing, contents: Data("x".utf8))
        #expect(throws: DataDirectoryError.self) { try Verify.run(dataDir: missing) }
        try FileManager.default.removeItem(atPath: missing)
        try FileManager.default.createDirectory(atPath: missing, withIntermediateDirectories: false)
        #expect(throws: DataDirectoryError.self) { try Verify.run(dataDir: missing) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: missing).isEmpty)
    }

    /// Read-only commands refuse read models an interrupted rebuild left marked invalid.
    @Test func staleReadModelsAreRefusedByReaders() async throws {
        let dir = try await Self.makeDataDir()
        let store = try ModerationStore(path: dir.path, readOnly: true, mustExist: true)
        try store.requireCurrentModels()
        let meta = try store.env.database("projections.meta")
        try store.env.write { txn in try txn.put(meta, Array("labels".utf8), (["version": -1, "checkpoint": 0] as CBOR).encoded()) }
        #expect {
            try store.requireCurrentModels()
        } throws: { "\($0)".contains("labels") }
    }

    @Test func aTamperedProjectionIsCaught() async throws {
        let dir = try await Self.makeDataDir()
        let c = try Self.copy(dir)
        let env = try LMDBEnvironment(path: c.path)
        let flags = try env.database("flags.byuri")
        try env.write { txn in try txn.put(flags, Array("at://did:plc:x/fm.plyr.track/1".utf8), [0xa0]) }
        let r = try Verify.run(dataDir: c.path)
        #expect(r.fault == nil)
        #expect(r.projectionMismatches == ["copyright-flags"])
    }
}
