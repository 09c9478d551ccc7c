import EventLog
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LabelerCore
@testable import LabelerServer
import NIOCore
import Testing

/// The admin web UI's routes: page shells, static files, and the HTML partials behind the key.
/// (The browser tests in tests/ui drive the same pages in Chromium.)
struct AdminUITests {
    struct Page {
        let status: Int
        let headers: HTTPFields
        let body: String
        func header(_ name: String) -> String? { headers[HTTPField.Name(name)!] }
    }

    static func fetch(_ h: Harness, _ uri: String, admin: Bool = false, headers extra: HTTPFields = [:]) async throws -> Page {
        var headers = extra
        if admin { headers[HTTPField.Name("X-Moderation-Key")!] = h.token }
        return try await h.client.execute(uri: uri, method: .get, headers: headers) { r in
            Page(status: Int(r.status.code), headers: r.headers, body: String(buffer: r.body))
        }
    }

    static func json(_ s: String) -> String {
        let d = try! JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])
        return String(decoding: d.dropFirst().dropLast(), as: UTF8.self)
    }

    /// CSP with scripts and styles only from the labeler, no framing, plus nosniff and no referrer.
    static func expectSecurityHeaders(_ p: Page, _ what: String) {
        let csp = p.header("Content-Security-Policy") ?? ""
        #expect(csp.contains("script-src 'self'"), "\(what): \(csp)")
        #expect(csp.contains("style-src 'self'"), "\(what): \(csp)")
        #expect(csp.contains("default-src 'none'"), "\(what): \(csp)")
        #expect(csp.contains("frame-ancestors 'none'"), "\(what): \(csp)")
        #expect(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval") && !csp.contains("*"), "\(what): \(csp)")
        #expect(p.header("X-Content-Type-Options") == "nosniff", "\(what)")
        #expect(p.header("Referrer-Policy") == "no-referrer", "\(what)")
    }

    /// Nothing a strict CSP would refuse: no inline script, no style attribute, no event handler attribute.
    static func expectNoInlineCode(_ html: String, _ what: String) {
        let patterns = [#"<script(?![^>]*\ssrc=)"#, #"\sstyle\s*="#, #"\son[a-z]+\s*="#, #"javascript:"#, #"<style"#]
        for p in patterns {
            #expect(html.range(of: p, options: [.regularExpression, .caseInsensitive]) == nil, "\(what) matches \(p)")
        }
    }

    @Test func pagesAreDataFreeShellsWithAStrictPolicy() async throws {
        try await Harness.run { h in
            try await h.emit("at://did:plc:artist1/fm.plyr.track/secret1")
            for path in ["/admin", "/admin/review/abcdefghijklmnop234567"] {
                let p = try await Self.fetch(h, path)
                #expect(p.status == 200, "\(path)")
                #expect(p.header("Content-Type") == "text/html; charset=utf-8")
                #expect(p.header("Cache-Control") == "no-store")
                Self.expectSecurityHeaders(p, path)
                Self.expectNoInlineCode(p.body, path)
                #expect(!p.body.contains("secret1"), "the shell holds no moderation data")
                #expect(p.body.contains("type=\"password\""), "\(path) has the sign-in form")
                #expect(!p.body.contains("name=\"key\""), "the key field is never submitted as a form value")
                for asset in ["admin.css", "common.js"] { #expect(p.body.contains(AdminAssets.url(asset))) }
            }
            let review = try await Self.fetch(h, "/admin/review/abcdefghijklmnop234567")
            #expect(review.body.contains("data-batch=\"abcdefghijklmnop234567\""))
            let bad = try await Self.fetch(h, "/admin/review/%3Cscript%3E")
            #expect(bad.status == 404)
            #expect(!bad.body.contains("<script>"))
        }
    }

    @Test func staticFilesHaveTypesAndCaching() async throws {
        try await Harness.run { h in
            let types = ["admin.css": "text/css", "common.js": "text/javascript", "dashboard.js": "text/javascript",
                         "review.js": "text/javascript", "icon.svg": "image/svg+xml"]
            for (name, type) in types {
                let current = try await Self.fetch(h, AdminAssets.url(name))
                #expect(current.status == 200, "\(name)")
                #expect(current.header("Content-Type")?.hasPrefix(type) == true, "\(name): \(current.header("Content-Type") ?? "-")")
                #expect(current.header("Cache-Control") == "public, max-age=31536000, immutable", "\(name)")
                #expect(current.header("X-Content-Type-Options") == "nosniff")
                #expect(current.body.utf8.count > 100)
                let etag = try #require(current.header("ETag"))
                let unversioned = try await Self.fetch(h, "/admin/static/\(name)")
                #expect(unversioned.header("Cache-Control") == "no-cache")
                let again = try await Self.fetch(h, "/admin/static/\(name)", headers: [.ifNoneMatch: etag])
                #expect(again.status == 304 && again.body.isEmpty)
            }
            for missing in ["nope.js", "..%2FPackage.swift", "admin.css.map"] {
                let p = try await Self.fetch(h, "/admin/static/\(missing)")
                #expect(p.status == 404, "\(missing)")
                #expect(p.body.contains("\"error\":\"NotFound\""))
            }
        }
    }

    @Test func partialsRefuseAMissingOrWrongKey() async throws {
        try await Harness.run { h in
            let paths = ["/admin/partials/stats", "/admin/partials/flags?filter=all", "/admin/partials/reports",
                         "/admin/partials/images", "/admin/partials/known-review", "/admin/partials/history?uri=did:plc:abc",
                         "/admin/partials/review/abc"]
            for path in paths {
                for headers: HTTPFields in [[:], [HTTPField.Name("X-Moderation-Key")!: "not-the-admin-key-at-all"]] {
                    let p = try await Self.fetch(h, path, headers: headers)
                    #expect(p.status == 401, "\(path)")
                    #expect(p.body.contains("AuthenticationRequired"))
                }
            }
            let ok = try await Self.fetch(h, "/admin/partials/stats", admin: true)
            #expect(ok.status == 200)
            Self.expectSecurityHeaders(ok, "stats partial")
        }
    }

    /// Every value from outside is escaped, in every partial that shows it; links only to checked URLs.
    @Test func outsideValuesAreEscapedEverywhere() async throws {
        try await Harness.run { h in
            let uri = "at://did:plc:artist1/fm.plyr.track/evil1"
            let title = "<script>alert(1)</script> & \"quotes\" 'single'"
            let handle = "\"><img src=x onerror=alert(2)>"
            let matchTitle = "<b>bold</b>"
            let notes = "<i>notes</i> onclick=\"x\""
            try await h.emit(uri)
            let ctx = """
                {"uri":"\(uri)","track_id":42,"track_title":\(Self.json(title)),"artist_handle":\(Self.json(handle)),
                 "highest_score":0.91,"matches":[{"title":\(Self.json(matchTitle)),"artist":"<u>a</u>","score":0.9}]}
                """
            let (cs, cb) = try await h.post("/admin/context", ctx)
            #expect(cs == 200, "\(cb)")
            let (bs, batch) = try await h.post("/admin/batches", "{\"created_by\":\(Self.json("<em>bob</em>"))}")
            #expect(bs == 200)
            let (rs, _) = try await h.post("/admin/resolve", "{\"uri\":\"\(uri)\",\"reason\":\"licensed\",\"notes\":\(Self.json(notes))}")
            #expect(rs == 200)

            let flags = try await Self.fetch(h, "/admin/partials/flags?filter=all", admin: true)
            let history = try await Self.fetch(h, "/admin/partials/history?uri=\(uri.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)", admin: true)
            let review = try await Self.fetch(h, "/admin/partials/review/\(batch["id"] as! String)", admin: true)
            for (what, p) in [("flags", flags), ("history", history), ("review", review)] {
                #expect(p.status == 200, "\(what): \(p.body)")
                Self.expectSecurityHeaders(p, what)
                #expect(p.body.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot; &#39;single&#39;"), "\(what)")
                for raw in ["<script", "<img", "<b>", "<i>", "<u>", "<em>"] {
                    #expect(!p.body.contains(raw), "\(what) contains \(raw) unescaped")
                }
            }
            #expect(flags.body.contains("&lt;b&gt;bold&lt;/b&gt;"))
            #expect(flags.body.contains("&lt;i&gt;notes&lt;/i&gt; onclick=&quot;x&quot;"))
            #expect(flags.body.contains("href=\"https://plyr.fm/track/42\""), "a numeric track id is linked")
            #expect(!flags.body.contains("plyr.fm/u/"), "an invalid handle is shown as text, never linked")
            #expect(flags.body.contains("91%"))
            #expect(history.body.contains("flag resolved: licensed"))
            #expect(review.body.contains("&lt;em&gt;bob&lt;/em&gt;"))
        }
    }

    @Test func flagListShowsWhatAnOperatorNeeds() async throws {
        try await Harness.run { h in
            let a = "at://did:plc:artist1/fm.plyr.track/aaa"
            let b = "at://did:plc:artist2/fm.plyr.stg.track/bbb"
            try await h.emit(a)
            try await h.emit(b)
            let matches = (1...5).map { "{\"title\":\"Song \($0)\",\"artist\":\"Band \($0)\",\"score\":\(0.1 * Double($0))}" }.joined(separator: ",")
            let (s, _) = try await h.post("/admin/context", "{\"uri\":\"\(a)\",\"track_title\":\"Night Drive\",\"artist_handle\":\"dj.example.com\",\"matches\":[\(matches)]}")
            #expect(s == 200)
            _ = try await h.post("/admin/resolve", "{\"uri\":\"\(b)\",\"reason\":\"cover_version\",\"notes\":\"their own cover\"}")

            let pending = try await Self.fetch(h, "/admin/partials/flags?filter=pending", admin: true).body
            #expect(pending.contains("data-count=\"1\""))
            #expect(pending.contains("Night Drive"))
            #expect(pending.contains("href=\"https://plyr.fm/u/dj.example.com\""))
            #expect(pending.contains("50%"), "the highest score, from the matches when no highest_score was given")
            for n in [5, 4, 3] { #expect(pending.contains("Song \(n)"), "top three matches") }
            for n in [2, 1] { #expect(!pending.contains("Song \(n)<"), "only three matches") }
            #expect(pending.contains("and 2 more"))
            #expect(pending.contains("Mark false positive"))
            #expect(pending.contains(" UTC</time>"))
            #expect(pending.contains("id=\"\(FlagView.domId(a))\""))

            let resolved = try await Self.fetch(h, "/admin/partials/flags?filter=resolved", admin: true).body
            #expect(resolved.contains("data-count=\"1\""))
            #expect(resolved.contains(">\(ResolutionReason.coverVersion.displayName)<"))
            #expect(resolved.contains("their own cover"))
            #expect(resolved.contains(">stg<"), "the staging environment is marked")
            #expect(!resolved.contains("Mark false positive"))

            let all = try await Self.fetch(h, "/admin/partials/flags?filter=all", admin: true).body
            #expect(all.contains("data-count=\"2\""))
            let bad = try await Self.fetch(h, "/admin/partials/flags?filter=nope", admin: true)
            #expect(bad.status == 400 && bad.body.contains("InvalidRequest"))
            let noURI = try await Self.fetch(h, "/admin/partials/history?uri=not-a-uri", admin: true)
            #expect(noURI.status == 400)
        }
    }

    @Test func reviewPartialFoldsDecidedAndResolvedFlags() async throws {
        try await Harness.run { h in
            let uris = (0..<4).map { "at://did:plc:artist3/fm.plyr.track/r\($0)" }
            for u in uris { try await h.emit(u) }
            let (_, b) = try await h.post("/admin/batches", "{}")
            let id = b["id"] as! String
            _ = try await h.post("/admin/review/\(id)/submit", "{\"decisions\":[{\"uri\":\"\(uris[0])\",\"decision\":\"defer\"}]}")
            _ = try await h.post("/admin/resolve", "{\"uri\":\"\(uris[1])\",\"reason\":\"licensed\"}")

            let page = try await Self.fetch(h, "/admin/partials/review/\(id)", admin: true).body
            #expect(page.contains("data-open=\"2\""), "two flags still to decide")
            #expect(page.contains("2 decided or resolved"))
            #expect(page.contains("data-auto-clear=\"true\""), "the flag resolved elsewhere is submitted as cleared")
            #expect(page.contains("decision-defer"))
            #expect(page.components(separatedBy: "data-decision=\"clear\"").count - 1 == 2)

            let (s, r) = try await h.post("/admin/review/\(id)/submit", """
                {"decisions":[{"uri":"\(uris[1])","decision":"clear"},{"uri":"\(uris[2])","decision":"confirm"},{"uri":"\(uris[3])","decision":"clear"}]}
                """)
            #expect(s == 200 && r["status"] as? String == "completed")
            let done = try await Self.fetch(h, "/admin/partials/review/\(id)", admin: true).body
            #expect(done.contains("data-status=\"completed\""))
            #expect(!done.contains("data-decision=\"clear\""), "nothing left to decide")
            let missing = try await Self.fetch(h, "/admin/partials/review/nosuchbatch", admin: true)
            #expect(missing.status == 404)
        }
    }

    @Test func statsReportsAndImagesPartials() async throws {
        try await Harness.run { h in
            try await h.emit("at://did:plc:artist1/fm.plyr.track/s1")
            try await h.emit("did:plc:someone1", val: "spam")
            let report = """
                {"reasonType":"com.atproto.moderation.defs#reasonSpam","reason":"<b>spam</b>","subject":{"did":"did:plc:someone1"}}
                """
            let (rs, rb) = try await h.post("/xrpc/com.atproto.moderation.createReport", report, headers: [.contentType: "application/json"])
            #expect(rs == 200, "\(rb)")
            let (is1, _) = try await h.post("/admin/sensitive-images", "{\"url\":\"https://cdn.example.com/a.jpg\",\"reason\":\"<nsfw>\"}")
            #expect(is1 == 200)

            let stats = try await Self.fetch(h, "/admin/partials/stats", admin: true).body
            #expect(stats.contains("data-stat=\"head\">\(h.service.log.head)<"))
            #expect(stats.contains("data-stat=\"labels\">2<"))
            #expect(stats.contains("data-stat=\"pending\">1<"))
            #expect(stats.contains("data-stat=\"reports\">1<"))
            #expect(stats.contains("data-stat=\"subscribers\">0<"))

            let reports = try await Self.fetch(h, "/admin/partials/reports?status=open", admin: true).body
            #expect(reports.contains("&lt;b&gt;spam&lt;/b&gt;") && !reports.contains("<b>spam"))
            #expect(reports.contains("did:plc:someone1"))
            #expect(reports.contains("<option value=\"open\" selected>"))
            let badStatus = try await Self.fetch(h, "/admin/partials/reports?status=nope", admin: true)
            #expect(badStatus.status == 400)

            let images = try await Self.fetch(h, "/admin/partials/images", admin: true).body
            #expect(images.contains("href=\"https://cdn.example.com/a.jpg\""))
            #expect(images.contains("&lt;nsfw&gt;"))
        }
    }

    /// Issue 9: spend in the stats partial, from the scan-stats read model.
    @Test func statsShowScanSpend() async throws {
        try await Harness.run { h in
            let before = try await Self.fetch(h, "/admin/partials/stats", admin: true).body
            #expect(before.contains("data-stat=\"billed\">0<") && before.contains("data-stat=\"savings\">-<"))
            #expect(before.contains("data-stat=\"usd\">$0.00 <small>of $0.00</small><"))
            // Two scans: 399 requests billed where full scans would have billed 2400; a failed scan billed 1.
            for (id, billed, full) in [("a", 100, 1000), ("b", 299, 1400)] {
                _ = try await h.service.log.append(ScanRecorded(
                    scanId: id, uri: "at://did:plc:u/fm.plyr.track/\(id)", audioURL: "https://cdn.example/\(id).mp3", status: .ok,
                    estimatedRequests: billed, fullScanRequests: full).event(actor: .scanner))
            }
            _ = try await h.service.log.append(ScanRecorded(
                scanId: "c", audioURL: "https://cdn.example/c.mp3", status: .failed, error: "x", estimatedRequests: 1).event(actor: .scanner))
            let stats = try await Self.fetch(h, "/admin/partials/stats", admin: true).body
            #expect(stats.contains("data-stat=\"billed\">400<"), "\(stats)")
            #expect(stats.contains("data-stat=\"full-scan\">2400<"))
            #expect(stats.contains("data-stat=\"savings\">×6.0<"))  // 2400 / 400
            #expect(stats.contains("data-stat=\"usd\">$2.00 <small>of $12.00</small><"))  // at $5 per 1000
            #expect(stats.contains("AuDD requests billed for 3 scans, at $5.00 per 1000"))
            #expect(stats.contains("title=\"2000 requests saved\""))
            // The same figures as GET /admin/costs.
            let (status, costs) = try await h.get("/admin/costs", admin: true)
            #expect(status == 200 && costs["billed_requests"] as? Int == 400 && costs["full_scan_requests"] as? Int == 2400)
            Self.expectNoInlineCode(stats, "stats")
        }
    }

    /// Finding 10: borderline (verdict review) known-content matches on the dashboard, read-only.
    @Test func knownContentReviewPartialListsBorderlineMatchesEscaped() async throws {
        try await Harness.run { h in
            let empty = try await Self.fetch(h, "/admin/partials/known-review", admin: true)
            #expect(empty.status == 200 && empty.body.contains("No borderline known-content matches to judge."))
            #expect(try await Self.fetch(h, "/admin/partials/known-review").status == 401)

            let hostile = "<script>alert(1)</script> & \"Daft Punk\""
            let fingerprint = (0..<400).map { UInt8(truncatingIfNeeded: $0 &* 37) }
            _ = try await h.service.log.append(KnownContentAdded(
                refId: "ref-one", reason: "admin", uri: "at://did:plc:ref/fm.plyr.track/orig", contentHash: nil,
                fingerprint: fingerprint, work: hostile).event(actor: .admin()))
            let stg = "at://did:plc:up1/fm.plyr.stg.track/3kborder"
            try await h.emit(stg)
            func matched(_ uri: String?, hash: String?, verdict: String, upload: Int) -> KnownContentMatched {
                KnownContentMatched(source: "scan", uri: uri, contentHash: hash, match: KnownMatch(
                    refId: "ref-one", uploadOffsetMs: upload, referenceOffsetMs: 61_500, matchedMs: 12_345, berBasisPoints: 1_875,
                    verdict: verdict))
            }
            _ = try await h.service.log.append(matched(stg, hash: nil, verdict: "review", upload: 5_000).event(actor: .scanner))
            _ = try await h.service.log.append(
                matched("at://did:plc:up2/fm.plyr.track/strong", hash: nil, verdict: "flag", upload: 0).event(actor: .scanner))
            _ = try await h.service.log.append(matched(nil, hash: "bafkhash<b>", verdict: "review", upload: 125_300).event(actor: .scanner))

            let page = try await Self.fetch(h, "/admin/partials/known-review", admin: true)
            #expect(page.status == 200)
            let html = page.body
            #expect(html.contains("data-count=\"2\""), "\(html)")
            #expect(!html.contains("did:plc:up2"), "a strong (flag) match is not borderline")
            #expect(html.contains("<code class=\"uri\">\(stg)</code>"))
            #expect(html.contains("data-env=\"stg\""))
            #expect(html.contains("data-flag-state=\"pending\""))
            #expect(html.contains("content <code>bafkhash&lt;b&gt;</code>"))
            #expect(html.contains("<code data-field=\"ref\">ref-one</code>"))
            #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Daft Punk&quot;") && !html.contains("<script"))
            #expect(html.contains("at://did:plc:ref/fm.plyr.track/orig"))
            #expect(html.contains("data-field=\"upload-offset\">0:05.0<") && html.contains("data-field=\"upload-offset\">2:05.3<"))
            #expect(html.contains("data-field=\"reference-offset\">1:01.5<"))
            #expect(html.contains("data-field=\"matched\">12.3 s<") && html.contains("data-field=\"ber\">0.188<"))
            // Newest first: the content-hash match was recorded last.
            let hashAt = try #require(html.range(of: "bafkhash"))
            let uriAt = try #require(html.range(of: stg))
            #expect(hashAt.lowerBound < uriAt.lowerBound)
            Self.expectNoInlineCode(html, "known-review")

            // The dashboard has the section and loads it.
            let dashboard = try await Self.fetch(h, "/admin").body
            #expect(dashboard.contains("id=\"panel-known\"") && dashboard.contains("data-tab=\"known\""))
        }
    }

    @Test func linksAreOnlyMadeFromCheckedValues() {
        #expect(AdminLinks.web("https://cdn.example.com/x.png?a=1") == "https://cdn.example.com/x.png?a=1")
        for bad in ["javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,x", "//evil.example", "https://", "https://u:p@host/x",
                    "https://host/ x", "https://host/\u{0}x", "ftp://host/x", "vbscript:x", " https://host/x"] {
            #expect(AdminLinks.web(bad) == nil, "\(bad)")
        }
        #expect(AdminLinks.artist("dj.example.com") == "https://plyr.fm/u/dj.example.com")
        #expect(AdminLinks.artist("\"><x") == nil && AdminLinks.artist("nodot") == nil && AdminLinks.artist(nil) == nil)
        #expect(AdminLinks.track(7) == "https://plyr.fm/track/7" && AdminLinks.track(-1) == nil && AdminLinks.track(nil) == nil)
        #expect(AdminLinks.environment("at://did:plc:a/fm.plyr.track/x") == nil)
        #expect(AdminLinks.environment("at://did:plc:a/fm.plyr.dev.track/x") == "dev")
        #expect(AdminTime.display("2026-05-01T14:03:09.123Z") == "2026-05-01 14:03 UTC")
    }

    /// The templates only use the escaping `{{name}}` form, and scripts only build text nodes
    /// or swap in the labeler's own partials.
    @Test func templatesNeverEmitUnescapedValues() {
        #expect(AdminTemplates.sources.count >= 10)
        for (name, bytes) in AdminTemplates.sources {
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(!text.contains("{{{") && !text.contains("{{&"), "\(name) has an unescaped variable")
            #expect(!text.contains("{{%"), "\(name) changes the content type")
            Self.expectNoInlineCode(text, name)
        }
        for name in ["common.js", "dashboard.js", "review.js"] {
            let js = String(decoding: AdminAssets.files[name]!.bytes, as: UTF8.self)
            #expect(!js.contains("eval(") && !js.contains("new Function") && !js.contains("document.write"), "\(name)")
            // innerHTML is assigned only from a labeler partial (swap / probe), never from a value.
            let assignments = js.components(separatedBy: ".innerHTML =").dropFirst()
            for a in assignments {
                #expect(a.hasPrefix(" html") || a.hasPrefix(" await call('/admin/partials/"), "\(name): innerHTML =\(a.prefix(40))")
            }
            #expect(!js.contains("localStorage") || name == "common.js", "only common.js touches the key")
        }
    }
}
