import Foundation
import LabelerCore
import LabelerServer
import Testing

struct QueryLabelsTests {
    @Test func pagingReturnsEveryLabelExactlyOnceWhileLabelsAreAdded() async throws {
        try await Harness.run { h in
            var before: [UInt64] = []
            for i in 0..<120 { before.append(try await h.emit("at://did:plc:page/fm.plyr.track/\(i)")) }
            // Re-label some keys: they move to a newer seq and must still appear once.
            for i in stride(from: 0, to: 120, by: 10) { try await h.emit("at://did:plc:page/fm.plyr.track/\(i)", neg: true) }
            let writer = Task {
                for i in 0..<80 { try await h.emit("at://did:plc:page/fm.plyr.track/new\(i)") }
            }
            for limit in [1, 7, 50, 250] {
                let labels = try await h.queryAll(["at://did:plc:page/*"], limit: limit)
                let keys = labels.map { "\($0["uri"]!)|\($0["val"]!)" }
                #expect(Set(keys).count == keys.count, "a key appeared twice with limit \(limit)")
                for i in 0..<120 { #expect(keys.contains("at://did:plc:page/fm.plyr.track/\(i)|copyright-violation")) }
                for l in labels where (l["uri"] as! String).hasSuffix("/0") { #expect(l["neg"] as? Bool == true) }
            }
            try await writer.value
            let all = try await h.queryAll(["*"], limit: 33)
            #expect(all.count == 200)
        }
    }

    @Test func prefixPatternsTreatUnderscoreAndPercentLiterally() async throws {
        try await Harness.run { h in
            try await h.emit("at://did:plc:pat/fm.plyr.track/a_b")
            try await h.emit("at://did:plc:pat/fm.plyr.track/axb")
            try await h.emit("at://did:plc:pat/fm.plyr.track/a.c")
            try await h.emit("at://did:plc:patx/fm.plyr.track/1")
            let under = try await h.queryAll(["at://did:plc:pat/fm.plyr.track/a_*"], limit: 50)
            #expect(under.map { $0["uri"] as! String } == ["at://did:plc:pat/fm.plyr.track/a_b"])
            let percent = try await h.queryAll(["at://did:plc:pat/fm.plyr.track/a%*"], limit: 50)
            #expect(percent.isEmpty, "% is not a wildcard")
            let exact = try await h.queryAll(["at://did:plc:pat/fm.plyr.track/a_b"], limit: 50)
            #expect(exact.count == 1)
            let nomatch = try await h.queryAll(["at://did:plc:pat/fm.plyr.track/A_B"], limit: 50)
            #expect(nomatch.isEmpty, "exact matching is case-sensitive")
            let prefix = try await h.queryAll(["at://did:plc:pat*"], limit: 2)
            #expect(prefix.count == 4, "a plain string prefix also matches did:plc:patx")
            let both = try await h.queryAll(["at://did:plc:pat/fm.plyr.track/axb", "at://did:plc:patx*"], limit: 50)
            #expect(both.count == 2)
            let (s, _) = try await h.get("/xrpc/com.atproto.label.queryLabels?uriPatterns=at://did:plc:*x")
            #expect(s == 400)
        }
    }

    @Test func parameterBoundsAreEnforced() async throws {
        try await Harness.run { h in
            try await h.emit("at://did:plc:bounds/fm.plyr.track/1")
            for bad in ["limit=0", "limit=251", "limit=abc", "limit=-1", "cursor=abc", "cursor=-5", "limit=1.5",
                        "sources=notadid", "limit=9999999999999999999999"] {
                let (s, body) = try await h.get("/xrpc/com.atproto.label.queryLabels?uriPatterns=*&\(bad)")
                #expect(s == 400, "\(bad)")
                #expect(body["error"] as? String == "InvalidRequest", "\(bad)")
            }
            let (s0, _) = try await h.get("/xrpc/com.atproto.label.queryLabels")
            #expect(s0 == 400)
            for ok in ["limit=1", "limit=250", "cursor=0", "cursor=99999"] {
                let (s, _) = try await h.get("/xrpc/com.atproto.label.queryLabels?uriPatterns=*&\(ok)")
                #expect(s == 200, "\(ok)")
            }
            let (s1, b1) = try await h.get("/xrpc/com.atproto.label.queryLabels?uriPatterns=*&sources=\(h.service.did)")
            #expect(s1 == 200 && (b1["labels"] as! [Any]).count == 1)
            let (s2, b2) = try await h.get("/xrpc/com.atproto.label.queryLabels?uriPatterns=*&sources=did:plc:someoneelse")
            #expect(s2 == 200 && (b2["labels"] as! [Any]).isEmpty && b2["cursor"] == nil)
        }
    }

    @Test func everyServedLabelVerifiesAgainstThePublishedKey() async throws {
        try await Harness.run { h in
            for i in 0..<10 { try await h.emit("at://did:plc:sig/fm.plyr.track/\(i)", neg: i % 3 == 0) }
            let key = try PublicKey(didKey: h.service.key.publicKey.didKey)
            for l in try await h.queryAll(["*"], limit: 4) {
                let label = try JSONDecoder().decode(Label.self, from: JSONSerialization.data(withJSONObject: l))
                #expect(label.verify(with: key))
                #expect(label.ver == 1 && label.neg != false)
            }
        }
    }
}
