import HTTPTypes
import Foundation
import Hummingbird
import LabelerTestSupport
import LabelerServer
import Testing

struct AdminAuthTests {
    /// Every route not on the public list refuses a missing or wrong key with 401 and no effect.
    @Test func everyNonPublicRouteNeedsTheKey() async throws {
        try await Harness.run { h in
            let scratch = TempDir()
            let config = try ServerConfig.resolve(dataDir: scratch.path, host: nil, port: nil, environment: [:])
            let routes = buildRouter(service: h.service, config: config).routes.map { ($0.method, "\($0.path)") }
            #expect(routes.count > 20)
            var checked = 0
            for (method, path) in routes where !publicRoutes.contains("\(method) \(path)") {
                let concrete = path.replacingOccurrences(of: #"\{[a-z]+\}"#, with: "1", options: .regularExpression)  // {id}, {seq}, ...
                for headers: HTTPFields in [[.contentType: "application/json"], [.contentType: "application/json", .init("X-Moderation-Key")!: "wrong-key-wrong-key"]] {
                    let status = try await h.client.execute(uri: concrete, method: method, headers: headers, body: ByteBuffer(string: "{}")) {
                        Int($0.status.code)
                    }
                    #expect(status == 401, "\(method) \(path) answered \(status) without a valid key")
                }
                checked += 1
            }
            #expect(checked >= 20)
            #expect(h.service.log.head == 1, "nothing was appended")
        }
    }

    @Test func keyComparisonIsConstantTimeInShape() {
        #expect(constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        #expect(!constantTimeEqual(Array("abc".utf8), Array("abd".utf8)))
        #expect(!constantTimeEqual(Array("abc".utf8), Array("abcd".utf8)))
        #expect(!constantTimeEqual([], Array("a".utf8)))
    }
}
