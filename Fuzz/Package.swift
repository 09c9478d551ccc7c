// swift-tools-version: 6.1
// libFuzzer harness for the parsers of outside bytes (issue 8): `make fuzz` (FUZZ_SECONDS, default 60).
import PackageDescription

let package = Package(
    name: "labeler-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "labeler", path: "..")],
    targets: [
        .executableTarget(
            name: "LabelerFuzz",
            dependencies: [.product(name: "LabelerCore", package: "labeler")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
    ]
)
