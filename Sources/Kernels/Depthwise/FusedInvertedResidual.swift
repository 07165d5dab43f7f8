import CKernels
import Tensor

// input NHWC (N,H,W,C) -> expand 1x1 (C->E) -> depthwise 3x3 (E, stride 1|2) [-> project 1x1 (E->K)]
//   -> output NHWC (N,P,Q,K), or (N,P,Q,E) without the projection; each stage adds its bias and
//   applies its clamp (ReLU6 after expand and depthwise in MobileNetV2, none after the projection)
/// The first two or three convolutions of an inverted-residual block in one pass, row by row:
/// each worker takes a run of output rows and keeps the expanded rows its depthwise windows need
/// in a ring of four (one new row per output row at stride 1, two at stride 2), so the expanded
/// map (MobileNetV2's block 1: 112x112x96, 4.8 MB, six times its input) is never written out and
/// read back; with the projection, the depthwise row goes straight into the 1x1 kernel as well.
/// Without an expand stage (MobileNetV2's first block: depthwise then project) the window rows
/// are the input's own. Inference only. Costs: the layers' FLOPs, plus the expanded rows two
/// workers' boundaries compute twice; minimum traffic: the input, the output and the weights.
public final class FusedInvertedResidual {
    /// One convolution's folded weights: the matrix (C x E for 1x1, 3x3xE for depthwise), bias
    /// and clamp, and a version that changes whenever the weights do (for the packed copies).
    public struct Stage {
        public var weights: UnsafePointer<Float>
        public var version: Int
        public var bias: UnsafePointer<Float>?
        public var clamp: ClosedRange<Float>?
        public init(
            weights: UnsafePointer<Float>, version: Int, bias: UnsafePointer<Float>?, clamp: ClosedRange<Float>?
        ) {
            self.weights = weights; self.version = version; self.bias = bias; self.clamp = clamp
        }
    }

    /// The depthwise convolution's window over the expanded map: the map (h x w, c = E
    /// channels), the stride, the zero rows and columns before it (a zero padding layer's
    /// included), and the output size p x q.
    public struct Window: Equatable, Sendable {
        public var h: Int, w: Int, c: Int, stride: Int, padTop: Int, padLeft: Int, p: Int, q: Int
        public init(h: Int, w: Int, c: Int, stride: Int, padTop: Int, padLeft: Int, p: Int, q: Int) {
            self.h = h; self.w = w; self.c = c; self.stride = stride
            self.padTop = padTop; self.padLeft = padLeft; self.p = p; self.q = q
        }
    }

    /// The depthwise convolution on the expanded map.
    public let depthwise: Window
    /// Input channels C (nil: no expand stage, the input is the depthwise's map of E channels),
    /// and output channels of the projection (nil: no projection).
    public let inputChannels: Int?, projectChannels: Int?
    public let options: ConvOptions
    private let expandPanels: PackedWeightPanels?
    private let projectPanels: PackedWeightPanels?
    private var packedVersions: (expand: Int, project: Int) = (-1, -1)
    /// Each worker's ring of expanded rows and depthwise row, kept between calls.
    private let workspace = Workspace()

    /// The depthwise layers the pass takes: 3x3 at stride 1 or 2, equal in both directions, on a
    /// map at least `minimumWidth` pixels wide.
    public static func supports(_ dw: ConvGeometry) -> Bool {
        dw.r == 3 && dw.s == 3 && dw.strideH == dw.strideW && (dw.strideH == 1 || dw.strideH == 2)
            && dw.w >= minimumWidth
    }

    /// The pass runs the 1x1 kernel on one row of pixels at a time; rows narrower than this keep
    /// its 6-row tiles short, and the layers run faster one by one (MobileNetV2 at batch 1 and
    /// 16 on Zen 3: fusing the 14- and 7-pixel blocks too was 1.04x and 1.01x slower in the
    /// model, 1.07-1.15x per block; fusing only the 56- and 112-pixel ones, 1.07x and 1.03x).
    public static let minimumWidth = 28

    public init(inputChannels: Int?, depthwise: Window, projectChannels: Int?, options: ConvOptions) {
        self.inputChannels = inputChannels
        self.depthwise = depthwise
        self.projectChannels = projectChannels
        self.options = options
        expandPanels = inputChannels.map { PackedWeightPanels(c: $0, k: depthwise.c) }
        projectPanels = projectChannels.map { PackedWeightPanels(c: depthwise.c, k: $0) }
    }

    /// The stages, as reports name the pass: "1x1 + depthwise + 1x1 (fused)".
    public var label: String {
        [inputChannels != nil ? "1x1" : nil, "depthwise", projectChannels != nil ? "1x1" : nil].compactMap { $0 }
            .joined(separator: " + ") + " (fused)"
    }

    /// The instruction set the pass runs under its options: that of the pointwise and depthwise kernels.
    public var kernelISA: String { options.wideKernelISA }

    /// FLOPs of one forward for `batch` images: the three convolutions' (direct) and what runs,
    /// with the expanded rows recomputed at the boundaries of `workers` row ranges.
    public func flops(batch: Int, workers: Int) -> (direct: Double, executed: Double) {
        let g = depthwise, e = Double(g.c)
        let expandRow = 2 * Double(g.w) * Double(inputChannels ?? 0) * e
        let dw = 2 * Double(g.p * g.q * g.c * 9) + Double(g.p * g.q * g.c)
        let project = projectChannels.map { 2 * Double(g.p * g.q) * e * Double($0) } ?? 0
        let direct = Double(batch) * (expandRow * Double(g.h) + dw + project)
        let extraRows = Double(max(0, min(workers, batch * g.p) - 1)) * 2
        return (direct, direct + extraRows * expandRow)
    }

    /// Minimum traffic for `batch` images: the input and output once, the three weight matrices once.
    public func minimumBytes(batch: Int) -> Double {
        let g = depthwise
        let out = g.p * g.q * (projectChannels ?? g.c)
        let weights =
            (inputChannels.map { $0 * g.c + g.c } ?? 0) + 10 * g.c + (projectChannels.map { g.c * $0 + $0 } ?? 0)
        return 4 * Double(batch * (g.h * g.w * (inputChannels ?? g.c) + out) + weights)
    }

    /// Scratch of `workers` workers: each a ring of four expanded rows (with an expand stage),
    /// and a depthwise row when the projection follows.
    public func workspaceBytes(workers: Int) -> Double {
        let g = depthwise
        let ring = inputChannels != nil ? 4 * g.w * g.c : 0
        return 4 * Double(workers * (ring + (projectChannels != nil ? g.q * g.c : 0)))
    }

    public func forward(
        input: UnsafePointer<Float>, batch: Int, expand: Stage?, depthwise dwStage: Stage, project: Stage?,
        output: UnsafeMutablePointer<Float>, runner: ParallelRunner
    ) {
        let g = depthwise
        let (C, E, K) = (inputChannels ?? g.c, g.c, projectChannels ?? g.c)
        precondition((expand == nil) == (inputChannels == nil), "an expand stage exactly when inputChannels is set")
        let packed = options.avx2Kernels
        if packed, let expand, let panels = expandPanels, packedVersions.expand != expand.version {
            panels.pack(expand.weights, runner: SerialRunner())
            packedVersions.expand = expand.version
        }
        if packed, let project, let panels = projectPanels, packedVersions.project != project.version {
            panels.pack(project.weights, runner: SerialRunner())
            packedVersions.project = project.version
        }
        let depthwiseRow = Self.depthwiseRow(isa: kernelISA)
        let (sh, pt, pl) = (g.stride, g.padTop, g.padLeft)
        let (H, W, P, Q) = (g.h, g.w, g.p, g.q)
        let options = options
        // One 1x1 convolution over `pixels` contiguous pixels.
        func conv1x1(
            _ stage: Stage, _ panels: PackedWeightPanels?, c: Int, k: Int, _ x: UnsafePointer<Float>, pixels: Int,
            _ y: UnsafeMutablePointer<Float>
        ) {
            PackedWeightPanels.pointwise(
                options, panels: packed ? panels : nil, weights: stage.weights, c: c, k: k, input: x, bias: stage.bias,
                clamp: stage.clamp, output: y, rows: 0..<pixels, panels: 0..<PackedWeightPanels.panels(k: k))
        }
        let ringFloats = expand != nil ? W * E : 0, dwFloats = project != nil ? Q * E : 0
        let (dwClamps, dwLo, dwHi): (Int32, Float, Float) =
            dwStage.clamp.map { (1, $0.lowerBound, $0.upperBound) } ?? (0, 0, 0)
        workspace.reserve(workers: runner.width, floats: max(1, 4 * ringFloats + dwFloats))
        runner.parallelRanges(batch * P, work: batch * P * Q * E * (C + 9 + (project != nil ? K : 0))) { worker, rows in
            let scratch = workspace.buffer(worker)
            var tags = [Int](repeating: Int.min, count: 4)  // which input row (n·H + ih) each ring slot holds
            var needed = [Int](repeating: -1, count: 3)  // the window's input rows (n·H + ih; −1: outside)
            let window = UnsafeMutablePointer<UnsafePointer<Float>?>.allocate(capacity: 3)
            defer { window.deallocate() }
            for row in rows {
                let n = row / P, ih0 = (row % P) * sh - pt
                for r in 0..<3 { needed[r] = ih0 + r >= 0 && ih0 + r < H ? n * H + ih0 + r : -1 }
                for r in 0..<3 {
                    let tag = needed[r]
                    guard tag >= 0 else { window[r] = nil; continue }
                    guard let expand else {  // no expand stage: the input's own rows
                        window[r] = input + tag * W * E
                        continue
                    }
                    let slot =
                        tags.firstIndex(of: tag)
                        ?? {
                            let free = tags.indices.first { !needed.contains(tags[$0]) }!
                            conv1x1(
                                expand, expandPanels, c: C, k: E, input + tag * W * C, pixels: W,
                                scratch + free * ringFloats)
                            tags[free] = tag
                            return free
                        }()
                    window[r] = UnsafePointer(scratch + slot * ringFloats)
                }
                let out = project == nil ? output + row * Q * E : scratch + 4 * ringFloats
                depthwiseRow(
                    window, Int32(sh), Int32(W), Int32(E), Int32(Q), Int32(pl), dwStage.weights, dwStage.bias, dwClamps,
                    dwLo, dwHi, out)
                if let project { conv1x1(project, projectPanels, c: E, k: K, out, pixels: Q, output + row * Q * K) }
            }
        }
    }

    typealias DepthwiseRow =
        @convention(c) (
            UnsafePointer<UnsafePointer<Float>?>?, Int32, Int32, Int32, Int32, Int32, UnsafePointer<Float>?,
            UnsafePointer<Float>?, Int32, Float, Float, UnsafeMutablePointer<Float>?
        ) -> Void

    static func depthwiseRow(isa: String) -> DepthwiseRow {
        switch isa {
        case "avx512": return cnns_depthwise_row3x3_avx512
        case "avx2": return cnns_depthwise_row3x3_avx2
        default: return cnns_depthwise_row3x3_scalar
        }
    }
}
