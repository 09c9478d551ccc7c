import Foundation
import LabelerTestSupport
import LabelerCore
import Testing

@testable import EventLog

struct EventLogTests {
    static func sampleEvent(_ i: Int) -> NewEvent {
        TrackContextAttached(uri: "at://did:plc:abc/fm.plyr.track/\(i)", trackId: Int64(i), trackTitle: "t\(i)")
            .event(actor: .system)
    }

    @Test func appendsGetSeqsFromOneAndReadBack() async throws {
        let dir = TempDir()
        let log = try EventLog(env: LMDBEnvironment(path: dir.path))
        defer { log.close() }
        #expect(log.head == 0)
        let seqs = try await log.append([Self.sampleEvent(1), Self.sampleEvent(2)])
        #expect(seqs == [1, 2])
        #expect(try await log.append(Self.sampleEvent(3)) == 3)
        #expect(log.head == 3)
        let events = try log.read(from: 1, limit: 10)
        #expect(events.map(\.seq) == [1, 2, 3])
        #expect(events[0].envelope.prev == EventEnvelope.genesisPrev)
        #expect(events[1].envelope.prev == events[0].hash)
        guard case .trackContextAttached(let c) = try events[2].envelope.decodeEvent() else {
            Issue.record("wrong event type")
            return
        }
        #expect(c.trackId == 3 && c.trackTitle == "t3")
        #expect(try log.reader.checkChain() == 3)
    }

    @Test func concurrentAppendersGetDistinctIncreasingSeqsInFewCommits() async throws {
        let dir = TempDir()
        let log = try EventLog(env: LMDBEnvironment(path: dir.path))
        defer { log.close() }
        let tasks = 64, perTask = 50
        let all = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for t in 0..<tasks {
                group.addTask {
                    var seqs: [UInt64] = []
                    for i in 0..<perTask { seqs.append(try await log.append(Self.sampleEvent(t * 1000 + i))) }
                    #expect(seqs == seqs.sorted() && Set(seqs).count == seqs.count)
                    return seqs
                }
            }
            var all: [UInt64] = []
            for try await s in group { all += s }
            return all
        }
        let total = tasks * perTask
        #expect(all.count == total)
        #expect(Set(all) == Set(1...UInt64(total)))
        let stats = log.stats
        #expect(stats.events == total)
        // Group commit: far fewer durable commits than events.
        #expect(stats.commits * 4 < total, "commits \(stats.commits) for \(total) events")
        #expect(try log.reader.checkChain() == UInt64(total))
    }

    /// A label event's payload is written straight from the label on the emit path: the bytes
    /// must be those of the generic encoder (the log's canonical form), and what the writer
    /// applies must be what a reader decodes from them.
    @Test func labelEventsWrittenDirectlyMatchTheGenericEncoding() async throws {
        let key = try SigningKey(hex: String(repeating: "1f", count: 32))
        var labels: [Label] = []
        for i in 0..<40 {
            var l = Label(
                src: "did:plc:labeler\(i % 3)", uri: "at://did:plc:u\(i)/fm.plyr.track/\(i)é",
                cid: i % 2 == 0 ? "bafyreib2rxk3rh6kzwq6v5n2h6j7q2gw4s4n5yqk4z7k5e2m6w3xq2y\(i % 10)" : nil,
                val: i % 4 == 0 ? "spam" : "copyright-violation", neg: i % 5 == 0 ? true : nil,
                cts: "2026-11-24T10:00:0\(i % 10).123Z", exp: i % 7 == 0 ? "2027-01-01T00:00:00.000Z" : nil)
            if i % 6 == 0 { l.ver = nil }
            labels.append(i % 8 == 0 ? l : l.signed(with: key))
        }
        let dir = TempDir()
        let log = try EventLog(env: LMDBEnvironment(path: dir.path))
        defer { log.close() }
        for l in labels {
            let direct = LabelApplied(label: l).event(actor: .admin())
            let generic = try CBOREncoder().encodeValue(LabelApplied(label: l))
            guard case .bytes(let bytes) = direct.storage else {
                Issue.record("the emit path built a CBOR value")
                continue
            }
            var w = CBORWriter(capacity: 256)
            w.write(generic)
            #expect(Array(bytes) == w.bytes)
            #expect(direct.payload == generic)
        }
        let seqs = try await log.append(labels.map { LabelApplied(label: $0).event(actor: .admin()) })
        let stored = try log.read(from: seqs[0], limit: labels.count)
        for (event, label) in zip(stored, labels) {
            #expect(try event.envelope.decodeEvent() == .labelApplied(LabelApplied(label: label)))
        }
    }

    @Test func reopeningContinuesTheChain() async throws {
        let dir = TempDir()
        do {
            let log = try EventLog(env: LMDBEnvironment(path: dir.path))
            try await log.append([Self.sampleEvent(1), Self.sampleEvent(2)])
            log.close()
        }
        let log = try EventLog(env: LMDBEnvironment(path: dir.path))
        defer { log.close() }
        #expect(log.head == 2)
        #expect(try await log.append(Self.sampleEvent(3)) == 3)
        #expect(try log.reader.checkChain() == 3)
    }

    @Test func aRejectedDecisionWritesNothingAndOthersProceed() async throws {
        struct No: Error {}
        let dir = TempDir()
        let log = try EventLog(env: LMDBEnvironment(path: dir.path))
        defer { log.close() }
        async let a = log.append(Self.sampleEvent(1))
        async let b: Result<[UInt64], any Error> = { () async -> Result<[UInt64], any Error> in
            do { return .success(try await log.append(deciding: { _ in throw No() })) } catch { return .failure(error) }
        }()
        let first = try await a
        #expect(first == 1)
        let second = await b
        guard case .failure(let e) = second, case EventLogError.rejected = e else {
            Issue.record("expected a rejection, got \(second)")
            return
        }
        #expect(log.head == 1)
    }

    /// A request that fails inside the commit (here a key over LMDB's 511 bytes, written by a
    /// read model) fails alone: the requests that shared its commit are retried on their own.
    @Test func aRequestFailingInsideACommitDoesNotFailTheOthersInIt() async throws {
        final class LongKeys: LogObserver, @unchecked Sendable {
            let db: MDB_dbi_t
            init(_ env: LMDBEnvironment) throws { db = try env.database("test.bytitle") }
            func apply(_ event: StoredEvent, _ decoded: LabelerEvent, in txn: LMDBTransaction) throws {
                guard case .trackContextAttached(let c) = decoded, let title = c.trackTitle else { return }
                try txn.put(db, Array(title.utf8), [1])
            }
            func willCommit(head: UInt64, in txn: LMDBTransaction) throws {}
        }
        let dir = TempDir()
        let env = try LMDBEnvironment(path: dir.path)
        let log = try EventLog(env: env, observers: [LongKeys(env)])
        defer { log.close() }
        let results = await withTaskGroup(of: (Int, String).self) { group in
            for i in 0..<200 {
                group.addTask {
                    let title = i % 10 == 3 ? String(repeating: "x", count: 600) : "t\(i)"
                    let e = TrackContextAttached(uri: "at://did:plc:abc/fm.plyr.track/\(i)", trackId: Int64(i), trackTitle: title)
                    do {
                        _ = try await log.append(e.event(actor: .system))
                        return (i, "ok")
                    } catch EventLogError.storage(let s) where s.isTooLarge {
                        return (i, "too large")
                    } catch { return (i, "\(error)") }
                }
            }
            var out: [Int: String] = [:]
            for await (i, r) in group { out[i] = r }
            return out
        }
        for i in 0..<200 { #expect(results[i] == (i % 10 == 3 ? "too large" : "ok"), "request \(i)") }
        #expect(log.head == 180)
        #expect(try log.reader.checkChain() == 180)
    }

    @Test func closedLogRefusesAppends() async throws {
        let dir = TempDir()
        let log = try EventLog(env: LMDBEnvironment(path: dir.path))
        log.close()
        await #expect(throws: EventLogError.self) { try await log.append(Self.sampleEvent(1)) }
    }

    @Test func headSignalWakesWaitersWithoutPolling() async throws {
        let dir = TempDir()
        let log = try EventLog(env: LMDBEnvironment(path: dir.path))
        defer { log.close() }
        async let woke = log.headSignal.wait(forHeadAbove: 0)
        try await Task.sleep(for: .milliseconds(50))
        try await log.append(Self.sampleEvent(1))
        #expect(await woke == 1)
        // Cancellation returns promptly.
        let t = Task { await log.headSignal.wait(forHeadAbove: 100) }
        t.cancel()
        #expect(await t.value == 1)
    }

    @Test func unknownTypesAndNewerVersionsAreKeptAndSkipped() async throws {
        let dir = TempDir()
        let log = try EventLog(env: LMDBEnvironment(path: dir.path))
        defer { log.close() }
        try await log.append(NewEvent(type: "future.thing", v: 1, actor: .system, payload: ["x": 1]))
        try await log.append(NewEvent(type: LabelApplied.eventType, v: 99, actor: .system, payload: ["x": 1]))
        let events = try log.read(from: 1, limit: 10)
        #expect(try events[0].envelope.decodeEvent() == .unknown(type: "future.thing", v: 1))
        #expect(try events[1].envelope.decodeEvent() == .unknown(type: LabelApplied.eventType, v: 99))
    }

    @Test func olderScanShapeIsReadThroughItsUpcaster() async throws {
        let dir = TempDir()
        let log = try EventLog(env: LMDBEnvironment(path: dir.path))
        defer { log.close() }
        let v1: CBOR = [
            "uri": "at://did:plc:abc/fm.plyr.track/1", "audio_url": "https://cdn.example/a.mp3", "is_flagged": true,
            "highest_score": 91,
            "matches": [["artist": "A", "title": "T", "score": 91, "offset_ms": 12000, "album": .null]],
        ]
        let seq = try await log.append(NewEvent(type: ScanRecorded.eventType, v: 1, actor: .scanner, payload: v1))
        guard case .scanRecorded(let scan) = try log.event(at: seq)!.envelope.decodeEvent() else {
            Issue.record("not a scan")
            return
        }
        #expect(scan.status == .ok && scan.provider == "audd" && scan.isFlagged && scan.highestScore == 91)
        #expect(scan.scanId == "v1-\(seq)" && scan.audioURL == "https://cdn.example/a.mp3")
        #expect(scan.matches == [ScanMatch(artist: "A", title: "T", offsetMs: 12000, score: 91)])
    }
}

struct EventLogIsolationTests {
    @Test func aMalformedEventFailsOnlyItsOwnRequest() async throws {
        let dir = TempDir()
        let log = try EventLog(env: LMDBEnvironment(path: dir.path))
        defer { log.close() }
        let good = TrackContextAttached(uri: "at://did:plc:x/fm.plyr.track/1").event(actor: .system)
        let bad = NewEvent(type: TrackContextAttached.eventType, v: 1, actor: .system, payload: ["uri": 5])
        async let a = log.append(good)
        async let b: Result<UInt64, any Error> = { () async -> Result<UInt64, any Error> in
            do { return .success(try await log.append(bad)) } catch { return .failure(error) }
        }()
        async let c = log.append(good)
        let (ra, rb, rc) = try await (a, b, c)
        #expect(Set([ra, rc]) == [1, 2])
        guard case .failure = rb else {
            Issue.record("the malformed event was appended")
            return
        }
        #expect(try log.reader.checkChain() == 2)
    }
}
