// swift-tools-version:6.0
import PackageDescription

// Modules only import the ones before them:
// TraceModel ← Parsers ← EventStore ← Timeline ← Render ← tracejoin.
let package = Package(
    name: "tracejoin",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tracejoin", targets: ["tracejoin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections", exact: "1.6.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", exact: "0.9.20"),
        // `tracejoin view`: the local web view's HTTP server.
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        // `tracejoin push`: ClickHouse's HTTP interface (ClickHouse module).
        .package(url: "https://github.com/swift-server/async-http-client", exact: "1.37.0"),
    ],
    targets: [
        // zlib's gzip stream API (gzopen/gzread) for `.gz` inputs.
        .systemLibrary(name: "CGzip", path: "Sources/CGzip", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // libxml2's push (SAX) parser for PDML: streaming, memory flat in file size.
        .systemLibrary(name: "CXML2", path: "Sources/CXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        .target(name: "TraceModel"),
        .target(name: "Parsers", dependencies: [
            "TraceModel", "CGzip", "CXML2",
            .product(name: "ZIPFoundation", package: "ZIPFoundation"),
        ]),
        .target(name: "EventStore", dependencies: [
            "TraceModel", "Parsers", "CGzip",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "GRDBSQLite", package: "GRDB.swift"),
        ]),
        .target(name: "Timeline", dependencies: [
            "TraceModel", "EventStore",
            .product(name: "Collections", package: "swift-collections"),
        ]),
        .target(name: "Render", dependencies: ["TraceModel", "EventStore", "Timeline"]),
        // The ClickHouse backend (issue 11): URL, HTTP client, RowBinary, schema, push of a SQLite store, the clock
        // pass with the engine reducing the packets.
        .target(name: "ClickHouse", dependencies: [
            "TraceModel", "EventStore", "Timeline", "CGzip",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),
        .executableTarget(name: "tracejoin", dependencies: [
            "TraceModel", "Parsers", "EventStore", "Timeline", "Render", "ClickHouse",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            // `tracejoin sql` prints GRDB's DatabaseValue as the store returns it.
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Hummingbird", package: "hummingbird"),
        ],
        // The view's page, styles and script: files in the repository, compiled into the binary so that
        // `tracejoin view` serves them wherever the binary is copied.
        resources: [
            .embedInCode("View/Assets/index.html"),
            .embedInCode("View/Assets/view.css"),
            .embedInCode("View/Assets/view.js"),
        ]),
        .testTarget(name: "TraceModelTests", dependencies: ["TraceModel"]),
        .testTarget(name: "ParsersTests", dependencies: ["Parsers", "TraceModel"]),
        .testTarget(name: "EventStoreTests", dependencies: ["EventStore", "Parsers", "TraceModel", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "TimelineTests", dependencies: ["Timeline", "EventStore", "Parsers", "TraceModel"]),
        .testTarget(name: "ClickHouseTests", dependencies: ["ClickHouse", "tracejoin", "EventStore", "TraceModel"]),
        .testTarget(name: "EndToEndTests", dependencies: ["tracejoin", "Timeline", "EventStore", "Parsers", "TraceModel", "Render",
                                                    .product(name: "GRDB", package: "GRDB.swift")]),
    ],
    swiftLanguageModes: [.v5]
)
