// swift-tools-version:6.0
// cnnscope: profile convolutional neural networks on CPUs.
// Dependency direction (see README "Architecture"):
//   C targets -> Hardware; Tensor -> Kernels -> Layers -> Training (Datasets -> Training) -> Onnx;
//   CHDF5 + Layers -> KerasWeights; {Layers, Hardware} -> Profiler; Figures -> Roofline -> Reports -> Sweep;
//   {Hardware, Kernels, Reports} -> MachineStore; {Hardware, Tensor, Kernels} -> Runtime;
//   all of these -> Profiling -> Transfer -> Lab -> cnnscope (the tool) and Examples.
import PackageDescription

let v5: [SwiftSetting] = [.swiftLanguageMode(.v5)]
// -Ounchecked only for the hot loops (Tensor, Kernels, Layers); parsers and the rest keep their checks.
let fast: [SwiftSetting] = v5 + [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

let package = Package(
    name: "cnnscope",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "cnnscope", targets: ["cnnscope"]),
        .library(
            name: "CnnscopeKit",
            targets: [
                "Hardware", "Tensor", "Kernels", "Layers", "Training", "Datasets", "Figures", "Profiler", "Roofline",
                "Reports", "KerasWeights", "MachineStore", "Runtime", "Profiling", "Lab", "Transfer", "Onnx",
                "KerasImport", "Sweep",
            ]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        // `swift package generate-documentation` (DocC) for the library's public API.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        // ONNX's protobuf schema, generated once (Scripts/onnx/generate-swift) and committed.
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // C bindings: one module map and one shim header each (Debian packages named in shim.h).
        .systemLibrary(name: "CPfm", path: "Sources/CPfm"),
        .systemLibrary(
            name: "CHwloc", path: "Sources/CHwloc", pkgConfig: "hwloc",
            providers: [.apt(["libhwloc-dev"])]),
        .systemLibrary(
            name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .target(name: "CPerfShim", path: "Sources/CPerfShim"),
        .target(name: "CMicrokernels", path: "Sources/CMicrokernels", cSettings: [.unsafeFlags(["-O2"])]),
        .target(name: "CKernels", path: "Sources/CKernels", cSettings: [.unsafeFlags(["-O2"])]),

        .target(name: "Hardware", dependencies: ["CPfm", "CHwloc", "CPerfShim", "CMicrokernels"], swiftSettings: v5),
        .target(name: "Tensor", swiftSettings: fast),
        .target(name: "Kernels", dependencies: ["Tensor", "CBLAS", "CKernels"], swiftSettings: fast),
        .target(name: "Datasets", dependencies: ["Tensor", "CZlib"], swiftSettings: v5),
        .target(name: "Layers", dependencies: ["Tensor", "Kernels"], swiftSettings: fast),
        .target(name: "Figures", swiftSettings: v5),
        .target(name: "Profiler", dependencies: ["Layers", "Kernels", "Hardware", "Figures"], swiftSettings: v5),
        .target(name: "Roofline", dependencies: ["Figures"], swiftSettings: v5),
        .target(name: "Reports", dependencies: ["Roofline", "Figures", "CZlib"], swiftSettings: v5),
        .target(
            name: "Training", dependencies: ["Layers", "Kernels", "CKernels", "Tensor", "Datasets", "Yams"],
            swiftSettings: v5),
        .target(
            name: "Onnx",
            dependencies: [
                "Kernels", "Layers", "Training", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: v5),
        .target(name: "Sweep", dependencies: ["Reports", "Figures"], swiftSettings: v5),
        .target(name: "Runtime", dependencies: ["Hardware", "Tensor", "Kernels"], swiftSettings: v5),
        .target(
            name: "Profiling",
            dependencies: [
                "Hardware", "Tensor", "Kernels", "Layers", "Training", "Datasets", "Figures", "Profiler",
                "Roofline", "Reports", "MachineStore", "Runtime", "KerasWeights", "KerasImport", "Onnx",
            ],
            swiftSettings: v5),
        .target(
            name: "Lab",
            dependencies: [
                "Datasets", "Figures", "Transfer", "Hardware", "Kernels", "Layers", "Profiler",
                "Profiling", "Reports", "Roofline", "Runtime", "Tensor", "Training",
            ],
            swiftSettings: v5),
        .target(
            name: "Transfer",
            dependencies: [
                "Datasets", "Hardware", "KerasWeights", "Kernels", "Layers", "Profiling", "Reports",
                "Runtime", "Tensor", "Training",
            ],
            swiftSettings: v5),
        .target(name: "MachineStore", dependencies: ["Figures", "Hardware", "Kernels", "Reports"], swiftSettings: v5),
        .target(name: "KerasWeights", dependencies: ["CHDF5", "Layers", "Tensor"], swiftSettings: v5),
        // Keras 3 .keras archives: zip reader, config.json -> graph profile, model.weights.h5 by layer name.
        .target(
            name: "KerasImport", dependencies: ["Datasets", "KerasWeights", "Kernels", "Layers", "Training"],
            swiftSettings: v5),

        .executableTarget(
            name: "cnnscope",
            dependencies: [
                "Hardware", "Tensor", "Kernels", "Layers", "Training", "Datasets", "Profiler", "Figures", "Roofline",
                "Reports", "KerasWeights", "MachineStore", "Runtime", "Profiling", "Lab", "Transfer", "Onnx", "Sweep",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: v5),

        // Examples/: the library used directly (built by Scripts/test).
        .executableTarget(
            name: "profile-example", dependencies: ["Datasets", "MachineStore", "Profiling", "Runtime"],
            path: "Examples/ProfileTinyCNN", swiftSettings: v5),

        .testTarget(
            name: "HardwareTests", dependencies: ["Hardware", "MachineStore", "Kernels", "Tensor"],
            swiftSettings: v5),
        .testTarget(name: "KernelTests", dependencies: ["Kernels", "Tensor"], swiftSettings: v5),
        .testTarget(name: "LayerTests", dependencies: ["Layers", "Kernels", "Tensor"], swiftSettings: v5),
        .testTarget(
            name: "TrainingTests",
            dependencies: [
                "Training", "Layers", "Datasets", "Tensor", "KerasWeights", "Reports", "Kernels", "CKernels",
                "Hardware", "Runtime",
            ],
            swiftSettings: v5),
        .testTarget(
            name: "ProfilerTests",
            dependencies: ["Profiler", "Figures", "Layers", "Kernels", "Hardware", "Tensor"],
            swiftSettings: v5),
        .testTarget(
            name: "ReportTests", dependencies: ["Reports", "Roofline", "Figures"], exclude: ["Snapshots"],
            swiftSettings: v5),
        .testTarget(
            name: "OnnxTests",
            dependencies: [
                "Onnx", "Profiling", "Datasets", "Training", "Kernels", "Layers", "Tensor",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: v5),
        .testTarget(
            name: "KerasImportTests",
            dependencies: [
                "KerasImport", "KerasWeights", "Profiling", "Datasets", "Training", "Kernels",
                "Layers", "Tensor",
            ],
            swiftSettings: v5),
        .testTarget(name: "SweepTests", dependencies: ["Sweep", "Reports", "Roofline", "Figures"], swiftSettings: v5),
        .testTarget(
            name: "ProfilingTests", dependencies: ["Profiling", "Hardware", "Layers", "Tensor", "Training"],
            swiftSettings: v5),
        .testTarget(
            name: "CLITests",
            dependencies: [
                "cnnscope", "Lab", "Runtime", "Onnx", "Sweep", "Transfer", "Profiling", "Datasets", "MachineStore",
                "Profiler", "Hardware", "Kernels", "Layers", "Tensor", "Training", "Reports", "KerasWeights",
            ],
            exclude: ["Snapshots"], swiftSettings: v5),
    ]
)
