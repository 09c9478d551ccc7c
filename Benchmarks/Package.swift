// swift-tools-version: 6.1
import PackageDescription

// Benchmarks for the labeler, kept in their own package so the main build and `swift test`
// never fetch or build the benchmark harness. Run with `make bench` from the repository root
// (`cd Benchmarks && swift package --disable-sandbox benchmark`).
let package = Package(
    name: "labeler-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "labeler", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "LabelerBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "LabelerCore", package: "labeler"),
                .product(name: "EventLog", package: "labeler"),
            ],
            path: "LabelerBenchmarks",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
    ]
)
