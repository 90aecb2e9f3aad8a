// swift-tools-version: 6.2
import Foundation
import PackageDescription

/// librdkafka 2.16, fetched by `make deps` into `.deps/lib` (Debian's 2.0.2 cannot talk to the embedded
/// broker; see docs/architecture.md, "librdkafka"). Linked by path with an rpath so that `swift build`,
/// `swift test` and `bin/sluice` all load the same library without environment variables.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path
let rdkafkaLibDir = "\(packageRoot)/.deps/lib"

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "sluice",
    products: [
        .executable(name: "sluice", targets: ["sluice"]),
        .executable(name: "sluice-sandbox", targets: ["sluice-sandbox"]),
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
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // The platform's contract on Kafka: record types, header names, topic names (no dependencies).
        .target(name: "SluiceRecords", swiftSettings: strictSettings),
        .systemLibrary(name: "CRdKafka", providers: [.apt(["librdkafka-dev"])]),
        .target(
            name: "SluiceKafka",
            dependencies: [
                "CRdKafka", "SluiceRecords", "SluiceSupport", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings,
            linkerSettings: [
                .unsafeFlags(["-L\(rdkafkaLibDir)", "-Xlinker", "-rpath", "-Xlinker", rdkafkaLibDir])
            ]
        ),
        .target(name: "CSluiceSys"),
        .target(
            name: "SluiceSupport",
            dependencies: [
                "CSluiceSys", "SluiceRecords", .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SluiceTopics",
            dependencies: ["SluiceKafka", "SluiceSupport", .product(name: "Yams", package: "Yams")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SluiceFunctions",
            dependencies: ["SluiceRecords", "SluiceSupport", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        // liblz4's frame format, for artifacts (Debian's liblz4-dev).
        .systemLibrary(name: "CLZ4", providers: [.apt(["liblz4-dev"])]),
        .target(
            name: "SluiceArtifacts",
            dependencies: [
                "CLZ4", "SluiceFunctions", "SluiceKafka", "SluiceRecords", "SluiceSupport",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SluiceRegistry",
            dependencies: [
                "SluiceArtifacts", "SluiceFunctions", "SluiceKafka", "SluiceRecords", "SluiceSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SluiceSandbox",
            dependencies: ["SluiceSupport"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SluiceRuntime",
            dependencies: [
                "CSluiceSys", "SluiceFunctions", "SluiceRecords", "SluiceSupport", "SluiceSandbox",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SluicePipeline",
            dependencies: [
                "SluiceArtifacts", "SluiceKafka", "SluiceFunctions", "SluiceRecords", "SluiceRegistry", "SluiceRuntime",
                "SluiceSandbox", "SluiceSupport",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .target(name: "SluiceAutoscaler", dependencies: ["SluiceRecords"], swiftSettings: strictSettings),
        .target(
            name: "SluiceScaling",
            dependencies: [
                "SluiceAutoscaler", "SluiceLag", "SluiceKafka", "SluiceRecords", "SluiceRegistry", "SluiceSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SluiceRollout",
            dependencies: [
                "SluiceArtifacts", "SluiceFunctions", "SluiceKafka", "SluiceRecords", "SluiceRegistry",
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SluiceDashboard",
            dependencies: [
                "SluiceKafka", "SluiceLag", "SluiceMetrics", "SluiceRecords",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SluiceMetrics",
            dependencies: [
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SluiceLag",
            dependencies: [
                "SluiceKafka", "SluiceRecords", "SluiceSupport", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SluiceDeadLetters",
            dependencies: [
                "SluiceKafka", "SluicePipeline", "SluiceFunctions", "SluiceRecords", "SluiceRegistry", "SluiceSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SluiceBench",
            dependencies: [
                "SluiceArtifacts", "SluiceKafka", "SluiceFunctions", "SluicePipeline", "SluiceRecords",
                "SluiceRegistry", "SluiceRuntime",
                "SluiceSupport",
                "SluiceDeadLetters", "SluiceSandbox", "SluiceBroker", "SluiceTopics", "SluiceScaling",
                "SluiceAutoscaler",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SluiceBroker",
            dependencies: ["SluiceKafka", "SluiceSupport"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SluicePlatform",
            dependencies: [
                "SluiceBroker", "SluiceFunctions", "SluiceKafka", "SluiceRegistry", "SluiceSupport", "SluiceTopics",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SluiceCLI",
            dependencies: [
                "SluiceKafka", "SluiceTopics", "SluiceBroker", "SluiceSupport", "SluiceFunctions", "SluicePipeline",
                "SluiceRuntime", "SluiceBench",
                "SluiceRecords", "SluiceRegistry", "SluicePlatform",
                "SluiceDeadLetters", "SluiceSandbox", "SluiceLag", "SluiceMetrics", "SluiceDashboard", "SluiceScaling",
                "SluiceAutoscaler", "SluiceRollout",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(name: "sluice", dependencies: ["SluiceCLI", "SluiceSupport"], swiftSettings: strictSettings),
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
                "SluiceArtifacts", "SluiceKafka", "SluiceBroker", "SluiceSupport", "SluiceFunctions", "SluiceTopics",
                "SluicePipeline", "SluiceRuntime", "SluiceSandbox",
                "SluiceRecords", "SluiceRegistry", "CSluiceSys", "CRdKafka",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SluiceKafkaTests", dependencies: ["SluiceKafka", "SluiceRecords", "SluiceTesting"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "SluiceLagTests",
            dependencies: [
                "SluiceLag", "SluiceKafka", "SluiceDashboard", "SluiceTesting", "SluiceBroker", "SluiceRecords",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: strictSettings),
        .testTarget(
            name: "SluiceAutoscalerTests", dependencies: ["SluiceAutoscaler", "SluiceRecords", "SluiceScaling"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "SluiceFunctionsTests",
            dependencies: ["SluiceFunctions", "SluiceRecords", "SluiceSupport", "SluiceTesting"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "SluicePipelineTests",
            dependencies: [
                "SluicePipeline", "SluiceDeadLetters", "SluiceTesting", "SluiceSupport", "SluiceSandbox",
                "SluiceArtifacts",
                "SluiceScaling", "SluiceAutoscaler", "SluiceRollout",
                "SluiceRecords", "SluiceRegistry", "SluiceFunctions", "SluiceKafka", "SluiceRuntime", "SluiceBroker",
                "SluiceLag",
            ], swiftSettings: strictSettings),
        .testTarget(
            name: "SluiceArtifactsTests",
            dependencies: ["SluiceArtifacts", "SluiceFunctions", "SluiceRecords", "SluiceTesting"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "SluiceRolloutTests", dependencies: ["SluiceRollout", "SluiceFunctions", "SluiceRecords"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "SluiceBenchTests", dependencies: ["SluiceBench", "SluiceRecords"], swiftSettings: strictSettings),
        .testTarget(
            name: "SluiceTopicsTests", dependencies: ["SluiceTopics", "SluiceSupport", "SluiceTesting"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "SluiceCLITests",
            dependencies: [
                "SluiceCLI", "SluiceTesting", "SluicePipeline", "SluiceFunctions", "SluiceRecords", "SluiceRegistry",
                "SluiceKafka",
                "SluiceSupport", "SluiceBroker",
            ], swiftSettings: strictSettings),
    ],
    swiftLanguageModes: [.v6]
)
