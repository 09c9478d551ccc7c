import Foundation
import LabelerCore
import LabelerServer
import Testing

struct SubscribeLabelsTests {
    @Test func futureCursorGetsAnErrorFrameAndAClose() async throws {
        try await Harness.run { h in
            try await h.emit("at://did:plc:fc/fm.plyr.track/1")
            let (frames, close) = try await h.subscribe(cursor: 1000) { _ in false }
            #expect(frames == [.error(name: "FutureCursor", message: "Cursor in the future.")])
            #expect(close?.code == 1008)
        }
    }

    @Test func noCursorMeansLiveOnly() async throws {
        try await Harness.run { h in
            for i in 0..<5 { try await h.emit("at://did:plc:live/fm.plyr.track/old\(i)") }
            let task = Task { try await h.subscribe(cursor: nil) { $0.count >= 1 } }
            try await h.waitForSubscribers(1)
            let seq = try await h.emit("at://did:plc:live/fm.plyr.track/new")
            let (frames, _) = try await task.value
            #expect(frames.map(\.labelSeq) == [seq])
            #expect(frames[0].labels.first?.uri == "at://did:plc:live/fm.plyr.track/new")
        }
    }

    @Test func cursorZeroReplaysEverythingStrictlyAfterTheCursor() async throws {
        try await Harness.run { h in
            var seqs: [UInt64] = []
            for i in 0..<20 { seqs.append(try await h.emit("at://did:plc:re/fm.plyr.track/\(i)", neg: i == 5)) }
            let (all, _) = try await h.subscribe(cursor: 0) { $0.count >= 20 }
            #expect(all.map(\.labelSeq) == seqs)
            let (after, _) = try await h.subscribe(cursor: seqs[9]) { $0.count >= 10 }
            #expect(after.map(\.labelSeq) == Array(seqs[10...]))
            let key = h.service.key.publicKey
            for f in all { for l in f.labels { #expect(l.verify(with: key)) } }
        }
    }

    /// Several subscribers, some slow, join at different moments while emits run: each sees every
    /// label seq once, in order, with no gap at the backfill→live handoff.
    @Test func backfillToLiveHandoffHasNoGapOrDuplicate() async throws {
        try await Harness.run { h in
            for i in 0..<150 { try await h.emit("at://did:plc:hand/fm.plyr.track/pre\(i)") }
            let total = 150 + 300
            let writer = Task {
                for i in 0..<300 {
                    try await h.emit("at://did:plc:hand/fm.plyr.track/live\(i)")
                    if i % 50 == 0 { try await Task.sleep(for: .milliseconds(20)) }
                }
            }
            let subscribers = (0..<5).map { n in
                Task {
                    try await Task.sleep(for: .milliseconds(40 * n))
                    return try await h.subscribe(cursor: 0, slow: n % 2 == 1 ? .milliseconds(1) : nil, timeout: .seconds(60)) {
                        $0.count >= total
                    }.frames
                }
            }
            try await writer.value
            let expected = try h.service.store.read { txn in try h.service.store.stream.page(after: 0, limit: 10_000, txn).map(\.seq) }
            #expect(expected.count == total)
            for s in subscribers {
                let frames = try await s.value
                let seqs = frames.compactMap(\.labelSeq)
                #expect(seqs == expected)
            }
        }
    }
}

struct SubscribeLabelsCursorTests {
    @Test func aMalformedCursorIsAnErrorFrameOverWebSocketAndJSONOverHTTP() async throws {
        try await Harness.run { h in
            for bad in ["abc", "-1", "1.5", "9007199254740993"] {
                let url = "/xrpc/com.atproto.label.subscribeLabels?cursor=\(bad)"
                let (s, body) = try await h.get(url)
                #expect(s == 400 && body["error"] as? String == "InvalidRequest", "\(bad)")
            }
            let (frames, close) = try await h.subscribeRaw(query: "cursor=abc")
            #expect(frames.count == 1)
            if case .error(let name, _) = frames.first { #expect(name == "InvalidRequest") } else { Issue.record("no error frame") }
            #expect(close?.code == 1008)
        }
    }
}
