import Datasets
import Kernels
import Layers
import Tensor

/// Int8 post-training quantisation of a trained sequential model: every Conv2D and Dense layer
/// is replaced by an `Int8Layer` whose input range comes from calibration (the min and max of
/// that layer's input over a few training batches); the other layers stay float (a 2x2 max
/// pooling right after a convolution runs inside it, on the int32 sums). Weights are
/// quantised per output channel. The result shares nothing the float model changes later.
public enum PostTrainingQuantization {
    public struct Result {
        public let model: Sequential
        public let quantizedLayers: [String]
        /// Weight bytes of the quantised layers: float (4 bytes each) and int8 (1 byte each).
        public let floatWeightBytes: Int
        public let int8WeightBytes: Int
    }

    public static func quantize(
        _ model: Sequential, calibration: Dataset, batches: Int = 8, batchSize: Int = 64,
        runner: ParallelRunner
    ) throws -> Result {
        guard model.isChain else {
            throw ProfileError("int8 quantisation supports sequential models; \(model.name) is a graph")
        }
        // Input ranges: run the float model layer by layer in inference mode.
        var lo = [Float](repeating: .infinity, count: model.layers.count)
        var hi = [Float](repeating: -.infinity, count: model.layers.count)
        let ctx = RunContext(runner: runner, training: false)
        let n = min(batchSize, calibration.count)
        let per = calibration.imageShape.reduce(1, *)
        let x = try Tensor([n] + calibration.imageShape, zeroed: false)
        for b in 0..<max(1, min(batches, calibration.count / max(1, n))) {
            for j in 0..<n {
                (x.data + j * per).update(
                    from: calibration.images.data + ((b * n + j) % calibration.count) * per, count: per)
            }
            var h = x
            for (i, l) in model.layers.enumerated() {
                if l is Conv2DLayer || l is DenseLayer {
                    for k in 0..<h.count { lo[i] = min(lo[i], h.data[k]); hi[i] = max(hi[i], h.data[k]) }
                }
                h = l.forward(h, ctx)
            }
        }
        var layers: [Layer] = []
        var names: [String] = []
        var floatBytes = 0, int8Bytes = 0
        // Dense layers take the ISA cap of the model's convolutions.
        let isa = model.layers.lazy.compactMap { ($0 as? Conv2DLayer)?.options.isa }.first ?? ConvOptions.bestISA
        for (i, l) in model.layers.enumerated() {
            let q = ActivationQuantization(min: lo[i], max: hi[i])
            if let c = l as? Conv2DLayer {
                let il = Int8Layer(quantizing: c, input: q)
                layers.append(il); names.append(c.name)
                floatBytes += c.kernel.value.count * 4; int8Bytes += il.kernel.weightBytes
            } else if let d = l as? DenseLayer {
                let il = try Int8Layer(quantizing: d, input: q, isa: isa)
                layers.append(il); names.append(d.name)
                floatBytes += d.kernel.value.count * 4; int8Bytes += il.kernel.weightBytes
            } else {
                layers.append(l)
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
        return Result(model: qm, quantizedLayers: names, floatWeightBytes: floatBytes, int8WeightBytes: int8Bytes)
    }
}
