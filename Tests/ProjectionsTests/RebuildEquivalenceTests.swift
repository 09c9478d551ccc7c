import EventLog
import Foundation
import LabelerCore
import LabelerTestSupport
import Testing

@testable import Projections

struct RebuildEquivalenceTests {
    /// How a rebuild runs: in one transaction or in chunks, with a write buffer large enough for
    /// everything (written out once, into empty tables) or so small that it is written out every
    /// few events (into tables that already hold keys before and after the new ones).
    struct Mode: Sendable, CustomTestStringConvertible {
        var seed: UInt64
        var exclusive: Bool
        var bufferBudget: Int
        var testDescription: String { "seed \(seed), \(exclusive ? "chunked" : "one transaction"), buffer \(bufferBudget)" }
    }

    static let modes: [Mode] = [
        Mode(seed: 1, exclusive: false, bufferBudget: ProjectionSet.defaultBufferBudget),
        Mode(seed: 2, exclusive: false, bufferBudget: 2_000),
        Mode(seed: 3, exclusive: true, bufferBudget: ProjectionSet.defaultBufferBudget),
        Mode(seed: 4, exclusive: true, bufferBudget: 2_000),
    ]

    /// Thousands of random events of every kind, appended in random group sizes: the models kept
    /// incrementally must equal a rebuild from the log, table for table.
    @Test(arguments: modes)
    func incrementalEqualsRebuild(mode: Mode) async throws {
        let seed = mode.seed
        let dir = TempDir()
        let store = try ModerationStore(path: dir.path)
        let log = try store.writer()
        var gen = RandomEvents(seed: seed)
        try await log.append(gen.identity())
        var appended = 1
        while appended < 3000 {
            let n = Int(gen.rng.next() % 20) + 1
            var batch: [NewEvent] = []
            for _ in 0..<n { batch.append(gen.next()) }
            try await log.append(batch)
            appended += n
        }
        let before = try store.projections.projections.map { try store.projections.digest($0) }
        let counts = try store.read { txn in (try store.labels.count(txn), try store.stream.count(txn)) }
        #expect(counts.0 > 100 && counts.1 > counts.0)
        try store.projections.rebuild(
            store.projections.projections, reader: store.reader, exclusive: mode.exclusive, bufferBudget: mode.bufferBudget)
        let after = try store.projections.projections.map { try store.projections.digest($0) }
        for (i, p) in store.projections.projections.enumerated() {
            #expect(before[i] == after[i], "projection \(p.name) differs from its rebuild")
        }
        store.close()
    }

    /// A model named twice (`--projection labels --projection labels`) is rebuilt once, on one
    /// thread: with a small buffer, two copies on two threads would write the same tables out of
    /// step. And groups that would share a table stay on one thread.
    @Test(arguments: [false, true])
    func aModelNamedTwiceIsRebuiltOnce(exclusive: Bool) async throws {
        let dir = TempDir()
        let store = try ModerationStore(path: dir.path)
        defer { store.close() }
        var gen = RandomEvents(seed: 11)
        let log = try store.writer()
        try await log.append(gen.identity())
        for _ in 0..<40 { try await log.append((0..<25).map { _ in gen.label() }) }
        let before = try store.projections.digest(store.labels)
        try store.projections.rebuild([store.labels, store.labels], reader: store.reader, exclusive: exclusive, bufferBudget: 2_000)
        #expect(try store.projections.digest(store.labels) == before)

        let split = ProjectionSet.splitForRebuild([store.labels, store.labels])
        #expect(split.lent.isEmpty && split.own.count == 2)
        let usual = ProjectionSet.splitForRebuild(store.projections.projections)
        #expect(usual.lent.contains { $0 === store.labels } && !usual.own.contains { $0 === store.labels })
    }

    /// The digest is sensitive: changing one projection entry changes it.
    @Test func digestNoticesADifference() async throws {
        let dir = TempDir()
        let store = try ModerationStore(path: dir.path)
        defer { store.close() }
        var gen = RandomEvents(seed: 9)
        try await store.writer().append([gen.identity()] + (0..<50).map { _ in gen.label() })
        let d1 = try store.projections.digest(store.labels)
        try store.env.write { txn in try txn.put(store.labels.bySeq, BigEndian.bytes(999_999), [0xa0]) }
        #expect(try store.projections.digest(store.labels) != d1)
    }

    /// The checkpoints the writer stores by hand read back through the generic decoder, byte for
    /// byte what the generic encoder writes.
    @Test func checkpointsWrittenByHandAreTheGenericEncoding() throws {
        for (version, checkpoint) in [(-1, UInt64(0)), (0, 1), (5, 23), (24, 255), (300, 65_536), (7, UInt64.max)] {
            let meta = ProjectionSet.Meta(version: version, checkpoint: checkpoint)
            #expect(meta.encoded() == (try Record.encode(meta)))
            let back = try meta.encoded().withUnsafeBytes { try Record.decode(ProjectionSet.Meta.self, $0) }
            #expect(back == meta)
        }
    }
}
