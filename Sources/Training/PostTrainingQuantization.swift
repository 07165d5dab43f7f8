import Datasets
import Kernels
import Layers
import Tensor

/// Int8 post-training quantisation of a trained sequential model: each Conv2D and Dense layer
/// may be replaced by an `Int8Layer` whose input range comes from calibration (the min and max of
/// that layer's input over a few training batches); the other layers stay float (a 2x2 max
/// pooling right after a convolution runs inside it, on the int32 sums). Weights are
/// quantised per output channel. The result shares nothing the float model changes later.
public enum PostTrainingQuantization {
    /// Which layers become int8.
    public enum LayerSelection: String, Codable, Sendable {
        /// Every convolution and dense layer.
        case every
        /// A layer whose int8 form ran slower than its float form on a calibration batch (with the
        /// pooling it fuses, timed alternately, medians) stays float: typically a first layer of
        /// one or three channels, whose short patches cost more to lower as bytes than the int8
        /// multiply-adds save against the float engine's direct small-patch kernel.
        case whereFaster
    }

    public struct Options: Sendable {
        public var layers: LayerSelection = .whereFaster
        /// Alternated float and int8 timings per layer (after one warm-up each) under `.whereFaster`.
        public var timingRounds = 5
        /// How much error a rounded form (Winograd's 8-bit transform domain) may add: it is kept only
        /// where its output's RMS difference from the float layer's, on the calibration batch, is at
        /// most this many times the exact int8 form's. 0 leaves the rounded forms out.
        public var roundedFormErrorFactor: Double = 3
        public init(layers: LayerSelection = .whereFaster, timingRounds: Int = 5, roundedFormErrorFactor: Double = 3) {
            self.layers = layers; self.timingRounds = timingRounds
            self.roundedFormErrorFactor = roundedFormErrorFactor
        }
    }

    /// One quantisable layer: its median float and int8 times on a calibration batch (measured;
    /// nil under `.every`, which times nothing) and what the model runs. Where the direct kernel
    /// fits, several int8 forms are timed (`Int8Conv2D.kernelName`): the direct kernel, which reads
    /// patches in place, and lowering + the GEMM, on the model's ISA, and under an AVX-512 cap the
    /// AVX2 direct kernel too; where integer Winograd fits (3x3 or 5x5, stride 1), that as well, and
    /// on AVX-512 VNNI a 3x3 one's 8-bit transform domain (rounded: eligible only where its error on
    /// the calibration batch is at most `Options.roundedFormErrorFactor` times the exact forms');
    /// `int8Seconds` and `int8Kernel` are the fastest eligible one's.
    public struct LayerChoice: Codable, Sendable, Equatable {
        public var layer: String
        public var floatSeconds: Double?
        public var int8Seconds: Double?
        public var int8: Bool
        /// The int8 kernel the layer runs (or would run, when it stays float).
        public var int8Kernel: String?
        /// Every int8 form timed, by kernel name (measured medians).
        public var int8SecondsByKernel: [String: Double]?
        /// Every int8 form's error on the calibration batch, by kernel name: the RMS difference of its
        /// output (with the pooling it fuses) from the float layer's, over the float output's RMS
        /// (measured).
        public var int8ErrorByKernel: [String: Double]?
        /// Forms timed but not eligible: a rounded form whose error passed the allowed factor.
        public var int8RejectedKernels: [String]?
    }

    public struct Result {
        public let model: Sequential
        public let quantizedLayers: [String]
        /// Quantisable layers that stay float (measured slower as int8).
        public let floatLayers: [String]
        /// Quantised layers that run the rounded 8-bit Winograd domain.
        public let roundedLayers: [String]
        public let choices: [LayerChoice]
        /// Weight bytes of the quantised layers: float (4 bytes each) and int8 (1 byte each).
        public let floatWeightBytes: Int
        public let int8WeightBytes: Int
    }

    public static func quantize(
        _ model: Sequential, calibration: Dataset, batches: Int = 8, batchSize: Int = 64,
        runner: ParallelRunner, options: Options = Options()
    ) throws -> Result {
        guard model.isChain else {
            throw ProfileError("int8 quantisation supports sequential models; \(model.name) is a graph")
        }
        // Input ranges: run the float model layer by layer in inference mode. The last batch's
        // inputs of the quantisable layers are kept for timing.
        var lo = [Float](repeating: .infinity, count: model.layers.count)
        var hi = [Float](repeating: -.infinity, count: model.layers.count)
        var inputs = [Tensor?](repeating: nil, count: model.layers.count)
        let ctx = RunContext(runner: runner, training: false)
        let n = min(batchSize, calibration.count)
        let per = calibration.imageShape.reduce(1, *)
        let x = try Tensor([n] + calibration.imageShape, zeroed: false)
        let rounds = max(1, min(batches, calibration.count / max(1, n)))
        for b in 0..<rounds {
            for j in 0..<n {
                (x.data + j * per).update(
                    from: calibration.images.data + ((b * n + j) % calibration.count) * per, count: per)
            }
            var h = x
            for (i, l) in model.layers.enumerated() {
                if l is Conv2DLayer || l is DenseLayer {
                    for k in 0..<h.count { lo[i] = min(lo[i], h.data[k]); hi[i] = max(hi[i], h.data[k]) }
                    if b == rounds - 1 && options.layers == .whereFaster { inputs[i] = h.copy() }
                }
                h = l.forward(h, ctx)
            }
        }
        var layers: [Layer] = []
        var names: [String] = [], kept: [String] = [], choices: [LayerChoice] = []
        var floatBytes = 0, int8Bytes = 0
        // Dense layers take the ISA cap of the model's options (its first Dense or convolution layer's):
        // a model without convolutions (the FCNN) still runs under `--isa`.
        let isa =
            model.layers.lazy.compactMap { l in
                (l as? DenseLayer)?.options.isa ?? (l as? Conv2DLayer)?.options.isa
            }.first ?? ConvOptions.bestISA
        for (i, l) in model.layers.enumerated() {
            let q = ActivationQuantization(min: lo[i], max: hi[i])
            var candidate: Int8Layer
            var others: [Int8Layer] = []
            let floatWeights: Int
            if let c = l as? Conv2DLayer {
                candidate = Int8Layer(quantizing: c, input: q)
                floatWeights = c.kernel.value.count * 4
                // Where the direct kernel fits, lowering + the GEMM is a second candidate (it can win
                // on long patches), and under AVX-512 so is the AVX2 direct kernel.
                if options.layers == .whereFaster && Int8Conv2D.directFits(c.geometry) {
                    others.append(Int8Layer(quantizing: c, input: q, path: .lowered))
                    if candidate.kernel.gemmISA.hasPrefix("avx512") {
                        others.append(Int8Layer(quantizing: c, input: q, isa: "avx2"))
                    }
                }
                // A 3x3 or 5x5 stride-1 layer may run integer Winograd F(2x4,3x3) or F(2x4,5x5):
                // fewer multiply-adds on 16-bit pairs instead of byte quads.
                if options.layers == .whereFaster && Int8Conv2D.winogradFits(c.geometry) {
                    others.append(Int8Layer(quantizing: c, input: q, path: .winograd))
                }
                // On AVX-512 VNNI a 3x3 stride-1 layer may also run Winograd with an 8-bit transform
                // domain: rounded, so it must also pass the error check below.
                if options.layers == .whereFaster && options.roundedFormErrorFactor > 0
                    && Int8Conv2D.winogradU8Fits(c.geometry) && candidate.kernel.gemmISA == "avx512-vnni"
                {
                    others.append(Int8Layer(quantizing: c, input: q, path: .winogradU8))
                }
            } else if let d = l as? DenseLayer {
                candidate = try Int8Layer(quantizing: d, input: q, isa: isa)
                floatWeights = d.kernel.value.count * 4
            } else {
                layers.append(l)
                continue
            }
            let next = i + 1 < model.layers.count ? model.layers[i + 1] as? PoolingLayer : nil
            let pool = next.flatMap { candidate.canFuse($0) ? $0 : nil }
            var choice = LayerChoice(
                layer: l.name, floatSeconds: nil, int8Seconds: nil, int8: true, int8Kernel: candidate.kernel.kernelName)
            if let h = inputs[i] {
                let forms = [candidate] + others
                for form in forms { form.fusedMaxPool = pool }
                let seconds = timeAlternately([l] + forms, pool: pool, input: h, ctx: ctx, options)
                let errors = relativeErrors(forms, of: l, pool: pool, input: h, ctx: ctx)
                for form in forms { form.fusedMaxPool = nil }
                // A rounded form is eligible where its error is within the factor of the exact forms' best.
                let exactError = zip(forms, errors).filter { !$0.0.kernel.winogradU8 }.map(\.1).min() ?? 0
                let eligible = forms.indices.filter {
                    !forms[$0].kernel.winogradU8 || errors[$0] <= options.roundedFormErrorFactor * exactError
                }
                let best = eligible.min { seconds[$0 + 1] < seconds[$1 + 1] }! + 1
                candidate = forms[best - 1]
                choice = LayerChoice(
                    layer: l.name, floatSeconds: seconds[0], int8Seconds: seconds[best],
                    int8: seconds[best] < seconds[0],
                    int8Kernel: candidate.kernel.kernelName,
                    int8SecondsByKernel: Dictionary(
                        zip(forms.map(\.kernel.kernelName), seconds.dropFirst()), uniquingKeysWith: { a, _ in a }),
                    int8ErrorByKernel: Dictionary(
                        zip(forms.map(\.kernel.kernelName), errors), uniquingKeysWith: { a, _ in a }),
                    int8RejectedKernels: forms.indices.filter { !eligible.contains($0) }.map {
                        forms[$0].kernel.kernelName
                    })
            }
            choices.append(choice)
            if choice.int8 {
                layers.append(candidate); names.append(l.name)
                floatBytes += floatWeights; int8Bytes += candidate.kernel.weightBytes
            } else {
                layers.append(l); kept.append(l.name)
            }
        }
        // A 2x2 max pooling right after a quantised convolution runs inside it (on the int32 sums).
        for (l, next) in zip(layers, layers.dropFirst()) {
            guard let il = l as? Int8Layer, let pool = next as? PoolingLayer, il.canFuse(pool) else { continue }
            il.fusedMaxPool = pool
        }
        // The float layers are shared with the trained model: leave their state as it is.
        let qm = Sequential(
            name: model.name + "-int8", inputShape: model.inputShape, layers: layers, inferenceFolding: false)
        let rounded = layers.compactMap { ($0 as? Int8Layer).flatMap { $0.kernel.winogradU8 ? $0.name : nil } }
        return Result(
            model: qm, quantizedLayers: names, floatLayers: kept, roundedLayers: rounded, choices: choices,
            floatWeightBytes: floatBytes, int8WeightBytes: int8Bytes)
    }

    /// Each int8 form's output (with the pooling after it) against the float layer's on one
    /// calibration batch: the RMS of the difference over the RMS of the float output.
    static func relativeErrors(
        _ forms: [Int8Layer], of float: Layer, pool: PoolingLayer?, input: Tensor, ctx: RunContext
    ) -> [Double] {
        func output(_ l: Layer) -> Tensor {
            let y = l.forward(input, ctx)
            return pool.map { $0.forward(y, ctx) } ?? y
        }
        let want = output(float).copy()
        var norm = 0.0
        for i in 0..<want.count { norm += Double(want.data[i]) * Double(want.data[i]) }
        return forms.map { form in
            let got = output(form)
            var diff = 0.0
            for i in 0..<min(got.count, want.count) {
                let d = Double(got.data[i]) - Double(want.data[i])
                diff += d * d
            }
            return norm > 0 ? (diff / norm).squareRoot() : diff.squareRoot()
        }
    }

    /// Median seconds of each layer (the float one, then its int8 forms) on one calibration batch,
    /// each with the 2x2 max pooling after it (which they run inside the convolution where they
    /// can), timed in turn, round after round, after one warm-up each.
    static func timeAlternately(
        _ layers: [Layer], pool: PoolingLayer?, input: Tensor, ctx: RunContext, _ options: Options
    ) -> [Double] {
        func seconds(_ l: Layer) -> Double {
            let t0 = monotonicNanos()
            let y = l.forward(input, ctx)
            if let p = pool { _ = p.forward(y, ctx) }
            return Double(monotonicNanos() - t0) * 1e-9
        }
        for l in layers { _ = seconds(l) }
        var samples = [[Double]](repeating: [], count: layers.count)
        for _ in 0..<max(1, options.timingRounds) {
            for (j, l) in layers.enumerated() { samples[j].append(seconds(l)) }
        }
        return samples.map { $0.sorted()[$0.count / 2] }
    }
}
