import EventLog
import Foundation
import LabelerCore
import LabelerTestSupport
import Projections
import Testing

@testable import Replay

struct ReplayTests {
    static let uri = "at://did:plc:artist1/fm.plyr.track/3kabc"

    @Test func historyTellsTheStoryInOrder() async throws {
        let dir = TempDir()
        let store = try ModerationStore(path: dir.path)
        var gen = RandomEvents(seed: 5)
        let log = try store.writer()
        try await log.append(gen.identity())
        try await log.append(ScanRecorded(scanId: "s1", uri: Self.uri, audioURL: "https://a/x.mp3", status: .ok,
                                          matches: [ScanMatch(artist: "Band", title: "Hit", score: 97)], isFlagged: true,
                                          highestScore: 97, estimatedRequests: 20).event(actor: .scanner))
        try await log.append([gen.label(uri: Self.uri, val: "copyright-violation"),
                              TrackContextAttached(uri: Self.uri, trackTitle: "My Song", artistHandle: "me.bsky.social").event(actor: .scanner)])
        try await log.append(gen.label())  // someone else
        try await log.append([gen.label(uri: Self.uri, val: "copyright-violation", neg: true),
                              FlagResolved(uri: Self.uri, val: "copyright-violation", reason: .originalArtist, notes: "it's theirs").event(actor: .admin("bob"))])
        let h = try History.entries(store: store, subject: Self.uri)
        #expect(h.map(\.type) == ["scan.recorded", "label.applied", "track.context-attached", "label.applied", "flag.resolved"])
        #expect(h.map(\.seq) == h.map(\.seq).sorted())
        #expect(h[0].summary.contains("Band – Hit (97)"))
        #expect(h[3].summary.hasPrefix("label negated"))
        #expect(h[4].actor == "admin:bob" && h[4].summary.contains("original_artist"))
        store.close()
    }

    @Test func stateAtASeqReconstructsLabelsInForce() async throws {
        let dir = TempDir()
        let store = try ModerationStore(path: dir.path)
        var gen = RandomEvents(seed: 6)
        let log = try store.writer()
        try await log.append(gen.identity())
        let a = try await log.append(gen.label(uri: "at://did:plc:a/fm.plyr.track/1", val: "spam"))
        let b = try await log.append(gen.label(uri: "at://did:plc:a/fm.plyr.track/2", val: "spam"))
        let n = try await log.append(gen.label(uri: "at://did:plc:a/fm.plyr.track/1", val: "spam", neg: true))
        let before = try StateAt.compute(reader: store.reader, at: .seq(b))
        #expect(before.labels.map(\.seq) == [a, b])
        let after = try StateAt.compute(reader: store.reader, at: .seq(n))
        #expect(after.labels.map(\.seq) == [b])
        #expect(after.negated == 1)
        let atTime = try StateAt.compute(reader: store.reader, at: .time(Datetime.nowMicros()))
        #expect(atTime.labels.map(\.seq) == [b])
        let atStart = try StateAt.compute(reader: store.reader, at: .time(0))
        #expect(atStart.labels.isEmpty && atStart.seq == 0)
        store.close()
    }

    @Test func exportThenImportReproducesTheLogExactly() async throws {
        let dir = TempDir()
        let store = try ModerationStore(path: dir.path)
        var gen = RandomEvents(seed: 7)
        try await store.writer().append(gen.identity())
        for _ in 0..<40 { try await store.writer().append((0..<10).map { _ in gen.next() }) }
        var lines = Data()
        let n = try Export.run(reader: store.reader) { lines.append($0) }
        let originals = try store.reader.readRaw(from: 1, limit: 10_000)
        store.close()
        #expect(n == 401)

        let restored = TempDir()
        let text = String(decoding: lines, as: UTF8.self)
        #expect(try Import.run(dataDir: restored.path, lines: text.split(separator: "\n")) == n)
        let copy = try EventLogReader(env: LMDBEnvironment(path: restored.path)).readRaw(from: 1, limit: 10_000)
        #expect(copy.map(\.0) == originals.map(\.0))
        #expect(copy.map(\.1) == originals.map(\.1), "imported events must be byte-identical")
        let r = try Verify.run(dataDir: restored.path)
        #expect(r.ok, "\(String(describing: r.fault)) \(r.projectionMismatches)")

        // Importing twice, or an altered export, is refused.
        #expect(throws: ReplayError.self) { try Import.run(dataDir: restored.path, lines: text.split(separator: "\n")) }
        let altered = text.replacingOccurrences(of: "\"actor\":\"scanner\"", with: "\"actor\":\"mallory\"")
        #expect(altered != text)
        #expect(throws: ReplayError.self) { try Import.run(dataDir: TempDir().path, lines: altered.split(separator: "\n")) }

        // The end line: a cut-short export is refused and leaves nothing behind, unless asked for.
        let all = Import.lines(text)
        #expect(all.last?.hasPrefix(#"{"end":{"events":401,"#) == true)
        let cut = TempDir()
        FileManager.default.createFile(atPath: cut.path + "/signing-key", contents: Data("kept".utf8))  // a key put there first is fine
        #expect {
            try Import.run(dataDir: cut.path, lines: all.prefix(200))
        } throws: { "\($0)".contains("no end line") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: cut.path) == ["signing-key"], "nothing imported")
        #expect(try Import.run(dataDir: cut.path, lines: all.prefix(200), allowIncomplete: true) == 200)
        // A failure part-way (past the first 20,000-event commit too) leaves no log either.
        let broken = TempDir()
        #expect(throws: ReplayError.self) { try Import.run(dataDir: broken.path, lines: Array(all.prefix(300)) + ["{x"] + all.suffix(2)) }
        #expect(!FileManager.default.fileExists(atPath: broken.path + "/data.mdb"))
        let fresh = broken.path + "/new"
        #expect(throws: ReplayError.self) { try Import.run(dataDir: fresh, lines: all.prefix(5)) }
        #expect(!FileManager.default.fileExists(atPath: fresh), "a directory the import made is gone with it")
        // CRLF line ends (an export that went through a Windows tool) read the same.
        let crlf = TempDir()
        #expect(try Import.run(dataDir: crlf.path, lines: Import.lines(text.replacingOccurrences(of: "\n", with: "\r\n"))) == n)
        // The last event altered: no later `prev` covers it, the end line's hash does.
        var lastAltered = all
        lastAltered[all.count - 2] = Substring(lastAltered[all.count - 2].replacingOccurrences(of: #""actor":""#, with: #""actor":"x"#))
        #expect {
            try Import.run(dataDir: TempDir().path, lines: lastAltered)
        } throws: { "\($0)".contains("end line") }
        #expect(throws: ReplayError.self) { try Import.run(dataDir: TempDir().path, lines: [Substring]()) }
    }

    /// A report's resolution is part of its subject's story, told in words.
    @Test func historyTellsAReportAndItsResolution() async throws {
        let dir = TempDir()
        let store = try ModerationStore(path: dir.path)
        defer { store.close() }
        var gen = RandomEvents(seed: 9)
        try await store.writer().append(gen.identity())
        let subject = "at://did:plc:rep/fm.plyr.track/1"
        let report = try await store.writer().append(
            ReportCreated(reasonType: "com.atproto.moderation.defs#reasonSpam", reason: "bad", subject: subject, subjectCid: nil,
                          reportedBy: "did:plc:someone", client: "127.0.0.1").event(actor: .system))
        let resolved = try await store.writer().append(
            ReportResolved(reportId: report, status: .dismissed, notes: "fine", resolvedBy: "erin").event(actor: .admin("erin")))
        let entries = try History.entries(store: store, subject: subject)
        #expect(entries.map(\.seq) == [report, resolved])
        #expect(entries[0].summary == #"reported (reasonSpam): "bad" by did:plc:someone"#)
        #expect(entries[1].summary == "report #\(report) dismissed by erin — fine")
    }

    /// A stored schema version that differs from the code's (as after an upgrade) makes start-up
    /// rebuild that model; queries answer as before.
    @Test func aSchemaChangeRebuildsTheProjectionAtStartUp() async throws {
        let dir = TempDir()
        var gen = RandomEvents(seed: 8)
        let expected: [UInt64]
        do {
            let store = try ModerationStore(path: dir.path)
            try await store.writer().append([gen.identity()] + (0..<200).map { _ in gen.label() })
            expected = try store.read { txn in try store.labels.query(txn, patterns: [.all], sources: nil, after: 0, limit: 1000).labels.map(\.seq) }
            // Simulate data written by an older version of the labels model: other meta, emptied tables.
            try store.env.write { txn in
                for db in store.labels.databases { try txn.clear(db) }
                let meta = try store.env.database("projections.meta")
                try txn.put(meta, Array("labels".utf8), (["version": 0, "checkpoint": 201] as CBOR).encoded())
            }
            store.close()
        }
        let store = try ModerationStore(path: dir.path)
        defer { store.close() }
        let after = try store.read { txn in try store.labels.query(txn, patterns: [.all], sources: nil, after: 0, limit: 1000).labels.map(\.seq) }
        #expect(after == expected)
        #expect(expected.count > 100)
    }
}
