// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "labeler",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "labeler", targets: ["LabelerCLI"]),
        .library(name: "LabelerCore", targets: ["LabelerCore"]),
        .library(name: "EventLog", targets: ["EventLog"]),
        .library(name: "Projections", targets: ["Projections"]),
        .library(name: "Replay", targets: ["Replay"]),
        .library(name: "LabelerServer", targets: ["LabelerServer"]),
        .library(name: "ModerationLoop", targets: ["ModerationLoop"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        .systemLibrary(name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(name: "CSecp256k1", pkgConfig: "libsecp256k1", providers: [.apt(["libsecp256k1-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .target(name: "LabelerCore", dependencies: ["CSecp256k1", "COpenSSL"]),
        .target(name: "EventLog", dependencies: [
            "LabelerCore", "CLMDB",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Projections", dependencies: [
            "EventLog", "LabelerCore",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Replay", dependencies: ["Projections", "EventLog", "LabelerCore"]),
        .target(name: "LabelerServer", dependencies: [
            "Projections", "EventLog", "LabelerCore", "Replay",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Mustache", package: "swift-mustache"),
        ], resources: [.embedInCode("Admin/Assets")]),
        // The moderation loop is a client of the labeler's HTTP API: it depends on none of the server's modules.
        .target(name: "ModerationLoop", dependencies: [
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),
        .executableTarget(name: "LabelerCLI", dependencies: [
            "LabelerServer", "Replay", "Projections", "EventLog", "LabelerCore", "ModerationLoop",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .target(name: "LabelerTestSupport", dependencies: ["Projections", "EventLog", "LabelerCore"], path: "Tests/Support"),
        .testTarget(name: "LabelerCoreTests", dependencies: ["LabelerCore"]),
        .testTarget(name: "EventLogTests", dependencies: ["EventLog", "LabelerCore", "LabelerTestSupport"]),
        .testTarget(name: "ProjectionsTests", dependencies: ["Projections", "EventLog", "LabelerCore", "LabelerTestSupport"]),
        .testTarget(name: "ReplayTests", dependencies: ["Replay", "Projections", "EventLog", "LabelerCore", "LabelerTestSupport"]),
        .testTarget(name: "LabelerServerTests", dependencies: [
            "LabelerServer", "LabelerTestSupport", "Replay",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
        ]),
        .testTarget(name: "ModerationLoopTests", dependencies: [
            "ModerationLoop", "LabelerServer", "LabelerTestSupport",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
        ]),
    ]
)
