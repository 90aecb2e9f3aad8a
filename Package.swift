// swift-tools-version: 6.1
import Foundation
import PackageDescription

/// librdkafka 2.16, fetched by `make deps` into `.deps/lib` (Debian's 2.0.2 cannot talk to the embedded
/// broker; see docs/architecture.md, "librdkafka"). Linked by path with an rpath so that `swift build`,
/// `swift test` and `bin/sluice` all load the same library without environment variables.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path
let rdkafkaLibDir = "\(packageRoot)/.deps/lib"

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .unsafeFlags(["-warnings-as-errors"]),
]

let package = Package(
    name: "sluice",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sluice", targets: ["sluice"]),
        .executable(name: "sluice-sandbox", targets: ["sluice-sandbox"]),
        .library(name: "SluiceKafka", targets: ["SluiceKafka"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    ],
    targets: [
        .systemLibrary(name: "CRdKafka", providers: [.apt(["librdkafka-dev"])]),
        .target(
            name: "SluiceKafka",
            dependencies: ["CRdKafka", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings,
            linkerSettings: [
                .unsafeFlags(["-L\(rdkafkaLibDir)", "-Xlinker", "-rpath", "-Xlinker", rdkafkaLibDir])
            ]
        ),
        .target(name: "CSluiceSys"),
        .target(
            name: "SluiceSupport",
            dependencies: ["CSluiceSys", .product(name: "Logging", package: "swift-log"), .product(name: "Yams", package: "Yams")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SluiceTopics",
            dependencies: ["SluiceKafka", "SluiceSupport", .product(name: "Yams", package: "Yams")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SluiceFunctions",
            dependencies: ["SluiceKafka", "SluiceSupport", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SluiceSandbox",
            dependencies: ["SluiceSupport"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SluiceRuntime",
            dependencies: ["CSluiceSys", "SluiceFunctions", "SluiceSupport", "SluiceSandbox", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SluicePipeline",
            dependencies: [
                "SluiceKafka", "SluiceFunctions", "SluiceRuntime", "SluiceSupport", "SluiceAutoscaler",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
        .target(name: "SluiceAutoscaler", swiftSettings: strictSettings),
        .target(
            name: "SluiceScaling",
            dependencies: ["SluiceAutoscaler", "SluiceLag", "SluiceKafka", "SluiceSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SluiceDashboard",
            dependencies: [
                "SluiceAutoscaler", "SluiceKafka", "SluiceLag", "SluiceMetrics", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SluiceMetrics",
            dependencies: [
                .product(name: "Metrics", package: "swift-metrics"), .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SluiceLag",
            dependencies: ["SluiceKafka", "SluiceAutoscaler", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SluiceDeadLetters",
            dependencies: ["SluiceKafka", "SluicePipeline", "SluiceFunctions", "SluiceSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SluiceBench",
            dependencies: [
                "SluiceKafka", "SluiceFunctions", "SluicePipeline", "SluiceRuntime", "SluiceSupport", "SluiceDeadLetters", "SluiceSandbox",
                .product(name: "Histogram", package: "hdrhistogram-swift"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SluiceBroker",
            dependencies: ["SluiceKafka", "SluiceSupport"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SluiceCLI",
            dependencies: [
                "SluiceKafka", "SluiceTopics", "SluiceBroker", "SluiceSupport", "SluiceFunctions", "SluicePipeline", "SluiceRuntime", "SluiceBench",
                "SluiceDeadLetters", "SluiceSandbox", "SluiceLag", "SluiceMetrics", "SluiceDashboard", "SluiceScaling", "SluiceAutoscaler",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(name: "sluice", dependencies: ["SluiceCLI"], swiftSettings: strictSettings),
        // The sandbox launcher: a small single-threaded C program (docs/sandbox.md).
        .executableTarget(
            name: "sluice-sandbox",
            cSettings: [.unsafeFlags(["-Wall", "-Wextra", "-Werror"])],
            // Static: SwiftPM links the Swift runtime into every executable, and loading libswiftCore.so
            // would cost every sandbox start about 1.5 ms. (The linker notes that static glibc's dlopen
            // needs a matching glibc at run time; the launcher never calls dlopen.)
            linkerSettings: [.linkedLibrary("seccomp"), .unsafeFlags(["-static-executable"])]
        ),
        .target(
            name: "SluiceTesting",
            dependencies: [
                "SluiceKafka", "SluiceBroker", "SluiceSupport", "SluiceFunctions", "SluiceTopics", "SluicePipeline", "SluiceRuntime", "SluiceSandbox",
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "SluiceKafkaTests", dependencies: ["SluiceKafka", "SluiceTesting"], swiftSettings: strictSettings),
        .testTarget(
            name: "SluiceLagTests", dependencies: ["SluiceLag", "SluiceKafka", "SluiceDashboard", "SluiceTesting", "SluiceBroker"],
            swiftSettings: strictSettings),
        .testTarget(name: "SluiceAutoscalerTests", dependencies: ["SluiceAutoscaler"], swiftSettings: strictSettings),
        .testTarget(
            name: "SluiceFunctionsTests", dependencies: ["SluiceFunctions", "SluiceTesting"], swiftSettings: strictSettings),
        .testTarget(
            name: "SluicePipelineTests",
            dependencies: ["SluicePipeline", "SluiceDeadLetters", "SluiceTesting", "SluiceSupport", "SluiceSandbox", "SluiceScaling", "SluiceAutoscaler"], swiftSettings: strictSettings),
        .testTarget(
            name: "SluiceTopicsTests", dependencies: ["SluiceTopics", "SluiceTesting"], swiftSettings: strictSettings),
        .testTarget(
            name: "SluiceCLITests", dependencies: ["SluiceCLI", "SluiceTesting", "SluicePipeline", "SluiceFunctions"], swiftSettings: strictSettings),
    ],
    swiftLanguageModes: [.v6]
)
