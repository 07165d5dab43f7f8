import Datasets
import Foundation
import Kernels
import Layers
import Tensor

/// One epoch of the history, as Keras' `history.history` holds it.
public struct EpochRecord: Codable, Equatable, Sendable {
    public var epoch: Int
    public var loss: Double
    public var accuracy: Double
    public var valLoss: Double?
    public var valAccuracy: Double?
    /// Measured wall time of the epoch's training steps (validation excluded).
    public var seconds: Double
    public var imagesPerSecond: Double

    public init(
        epoch: Int, loss: Double, accuracy: Double, valLoss: Double?, valAccuracy: Double?, seconds: Double,
        imagesPerSecond: Double
    ) {
        self.epoch = epoch; self.loss = loss; self.accuracy = accuracy; self.valLoss = valLoss
        self.valAccuracy = valAccuracy; self.seconds = seconds; self.imagesPerSecond = imagesPerSecond
    }
}

/// What the progress display is told after every step.
public struct StepProgress: Sendable {
    public var epoch: Int, epochs: Int, step: Int, steps: Int
    public var loss: Double, accuracy: Double
    public var elapsed: Double, imagesPerSecond: Double
    public var eta: Double { step > 0 ? elapsed / Double(step) * Double(steps - step) : 0 }
}

public struct TrainConfig: Sendable {
    public var epochs = 1
    public var batchSize = 64
    /// EarlyStopping on val_accuracy with this patience and restore_best_weights (nil: off).
    public var patience: Int?
    public var seed: UInt64 = 42
    /// Data augmentation of the training batches: random rotations of up to `maxRotationDegrees`
    /// either way, shifts of up to `maxShift` pixels (zero fill), and horizontal flips (p = 0.5)
    /// for 3-channel images, as the lab's extension.
    public var augment = false
    public var maxShift = 2
    public var maxRotationDegrees = 10.0
    public init(epochs: Int = 1, batchSize: Int = 64, patience: Int? = nil, seed: UInt64 = 42, augment: Bool = false) {
        self.epochs = epochs; self.batchSize = batchSize; self.patience = patience; self.seed = seed;
        self.augment = augment
    }
}

/// The lab's train_and_evaluate_model loop: shuffled mini-batches, Adam or SGD, validation
/// after each epoch, early stopping with best-weight restore.
public final class Trainer {
    public let model: Sequential
    public let optimizer: Optimizer
    public let context: RunContext
    public private(set) var stoppedEarly = false
    public private(set) var bestEpoch: Int?

    public init(model: Sequential, optimizer: Optimizer, runner: ParallelRunner, seed: UInt64 = 42) {
        self.model = model
        self.optimizer = optimizer
        context = RunContext(runner: runner, training: true, seed: seed ^ 0xD5)
    }

    /// The profile's optimizer; `isa` caps the ISA of Adam's update kernel (`ConvOptions.isa`).
    public static func optimizer(for p: ModelProfile, learningRate: Double? = nil, isa: String = ConvOptions.bestISA)
        -> Optimizer
    {
        p.optimizer == "sgd"
            ? SGD(learningRate: learningRate ?? p.learningRate)
            : Adam(learningRate: learningRate ?? p.learningRate, isa: isa)
    }

    /// Copies images `indices` into a batch tensor and their labels into `labels`.
    static func gather(_ ds: Dataset, _ indices: ArraySlice<Int>, into x: Tensor, labels: inout [Int32]) {
        let per = ds.imageShape.reduce(1, *)
        for (j, i) in indices.enumerated() {
            (x.data + j * per).update(from: ds.images.data + i * per, count: per)
            labels[j] = ds.labels[i]
        }
    }

    public func fit(
        train: Dataset, validation: Dataset?, config: TrainConfig,
        progress: ((StepProgress) -> Void)? = nil, epochEnded: ((EpochRecord) -> Void)? = nil
    ) -> [EpochRecord] {
        var rng = SeededGenerator(seed: config.seed)
        var order = Array(0..<train.count)
        let B = config.batchSize
        let steps = (train.count + B - 1) / B
        var history: [EpochRecord] = []
        var best: (acc: Double, weights: [Tensor])?
        var sinceBest = 0
        var batchTensors: [Int: (Tensor, Tensor)] = [:]
        var labels = [Int32](repeating: 0, count: B)
        stoppedEarly = false
        for epoch in 1...max(1, config.epochs) {
            // Fisher–Yates shuffle.
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.nextInt(i + 1)) }
            var lossSum = 0.0, correct = 0, seen = 0
            let t0 = monotonicNanos()
            context.training = true
            for s in 0..<steps {
                let lo = s * B, hi = min(train.count, lo + B)
                let n = hi - lo
                let (x, grad) =
                    batchTensors[n] ?? (try! Tensor([n] + train.imageShape), try! Tensor([n, model.outputShape[0]]))
                batchTensors[n] = (x, grad)
                Self.gather(train, order[lo..<hi], into: x, labels: &labels)
                if config.augment {
                    Augmentation.apply(
                        x, maxShift: config.maxShift, flips: x.shape[3] == 3,
                        maxRotationDegrees: config.maxRotationDegrees,
                        rng: &rng)
                }
                let logits = model.forward(x, context)
                let (loss, right) = labels.withUnsafeBufferPointer {
                    SoftmaxCrossEntropy.evaluate(logits: logits, labels: $0.baseAddress!, grad: grad)
                }
                model.backward(grad, context)
                optimizer.step(model.trainableParameters, runner: context.runner)
                lossSum += loss * Double(n)
                correct += right
                seen += n
                if let progress {
                    let el = Double(monotonicNanos() - t0) * 1e-9
                    progress(
                        StepProgress(
                            epoch: epoch, epochs: config.epochs, step: s + 1, steps: steps,
                            loss: lossSum / Double(seen), accuracy: Double(correct) / Double(seen),
                            elapsed: el, imagesPerSecond: Double(seen) / el))
                }
            }
            let secs = Double(monotonicNanos() - t0) * 1e-9
            var rec = EpochRecord(
                epoch: epoch, loss: lossSum / Double(seen), accuracy: Double(correct) / Double(seen),
                valLoss: nil, valAccuracy: nil, seconds: secs, imagesPerSecond: Double(seen) / secs)
            if let validation, validation.count > 0 {
                let (vl, va) = evaluate(validation, batchSize: B)
                rec.valLoss = vl
                rec.valAccuracy = va
            }
            history.append(rec)
            epochEnded?(rec)
            if let patience = config.patience, let va = rec.valAccuracy {
                if best == nil || va > best!.acc {
                    best = (va, model.allParameters.map { $0.parameter.value.copy() })
                    bestEpoch = epoch
                    sinceBest = 0
                } else {
                    sinceBest += 1
                    if sinceBest >= patience { stoppedEarly = true; break }
                }
            }
        }
        if config.patience != nil, let best {
            for ((_, p), w) in zip(model.allParameters, best.weights) {
                p.value.data.update(from: w.data, count: w.count)
                p.version += 1
            }
        }
        context.training = false
        return history
    }

    /// Mean loss and accuracy over a data set, in inference mode.
    public func evaluate(_ ds: Dataset, batchSize: Int) -> (loss: Double, accuracy: Double) {
        let (_, loss, acc) = predict(ds, batchSize: batchSize)
        return (loss, acc)
    }

    /// Predicted classes with loss and accuracy, in inference mode.
    public func predict(_ ds: Dataset, batchSize: Int) -> (predictions: [Int32], loss: Double, accuracy: Double) {
        let saved = (context.training, context.reusesActivationMemory)
        context.training = false
        context.reusesActivationMemory = true
        // The layer observer profiles training steps only, not evaluation passes.
        let observer = model.observer
        model.observer = nil
        defer { (context.training, context.reusesActivationMemory) = saved; model.observer = observer }
        var preds = [Int32](repeating: 0, count: ds.count)
        var lossSum = 0.0, correct = 0
        var labels = [Int32](repeating: 0, count: batchSize)
        var tensors: [Int: Tensor] = [:]
        var lo = 0
        while lo < ds.count {
            let hi = min(ds.count, lo + batchSize), n = hi - lo
            let x = tensors[n] ?? (try! Tensor([n] + ds.imageShape, zeroed: false))
            tensors[n] = x
            Self.gather(ds, Array(lo..<hi)[...], into: x, labels: &labels)
            let logits = model.forward(x, context)
            let (l, right) = labels.withUnsafeBufferPointer {
                SoftmaxCrossEntropy.evaluate(logits: logits, labels: $0.baseAddress!, grad: nil)
            }
            let k = logits.count / n
            for i in 0..<n {
                var arg = 0
                for j in 1..<k where logits.data[i * k + j] > logits.data[i * k + arg] { arg = j }
                preds[lo + i] = Int32(arg)
            }
            lossSum += l * Double(n)
            correct += right
            lo = hi
        }
        return (preds, lossSum / Double(max(1, ds.count)), Double(correct) / Double(max(1, ds.count)))
    }

    /// Seconds per image of the forward pass over `images` images at `batchSize` (after warming up at
    /// both batch sizes it runs).
    public func inferenceSecondsPerImage(_ ds: Dataset, images: Int = 1000, batchSize: Int) -> Double {
        let sub = ds.prefix(min(images, ds.count))
        // Warm-up at both batch sizes the timed pass runs: a full batch and the last, partial one
        // (whose tensors and layer buffers would otherwise be allocated and first touched inside it).
        _ = predict(sub.prefix(batchSize), batchSize: batchSize)
        let tail = sub.count % batchSize
        if tail > 0 && sub.count > batchSize {
            _ = predict(sub.slice(sub.count - tail..<sub.count), batchSize: batchSize)
        }
        let t0 = monotonicNanos()
        _ = predict(sub, batchSize: batchSize)
        return Double(monotonicNanos() - t0) * 1e-9 / Double(sub.count)
    }
}

// batch NHWC (B,H,W,C), in place
/// Random rotations, shifts (zero fill) and optional horizontal flips, image by image, from a
/// seeded generator.
public enum Augmentation {
    public static func apply(
        _ x: Tensor, maxShift: Int, flips: Bool, maxRotationDegrees: Double = 0, rng: inout SeededGenerator
    ) {
        let (B, H, W, C) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let per = H * W * C
        let tmp = UnsafeMutablePointer<Float>.allocate(capacity: per)
        defer { tmp.deallocate() }
        for b in 0..<B {
            let img = x.data + b * per
            let dy = rng.nextInt(2 * maxShift + 1) - maxShift, dx = rng.nextInt(2 * maxShift + 1) - maxShift
            let flip = flips && rng.nextInt(2) == 1
            let degrees = maxRotationDegrees > 0 ? Double(rng.nextFloat(low: -1, high: 1)) * maxRotationDegrees : 0
            if dy == 0 && dx == 0 && !flip && degrees == 0 { continue }
            tmp.update(from: img, count: per)
            transform(
                from: tmp, into: img, height: H, width: W, channels: C, degrees: degrees, dy: dy, dx: dx, flip: flip)
        }
    }

    // one image HWC: out(y, x) = in(R(−θ)·(unflip(x) − shift − centre) + centre), bilinear, zero outside
    /// One image rotated by `degrees` about its centre, shifted by (dy, dx) and, with `flip`,
    /// mirrored left to right; sampled bilinearly, with zeros where the source falls outside.
    public static func transform(
        from src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, height H: Int, width W: Int,
        channels C: Int, degrees: Double, dy: Int, dx: Int, flip: Bool
    ) {
        let theta = degrees * .pi / 180, cosT = cos(theta), sinT = sin(theta)
        let cy = Double(H - 1) / 2, cx = Double(W - 1) / 2
        for y in 0..<H {
            for x in 0..<W {
                let xs = Double((flip ? W - 1 - x : x) - dx) - cx, ys = Double(y - dy) - cy
                let sy = cy + cosT * ys - sinT * xs, sx = cx + sinT * ys + cosT * xs
                let out = dst + (y * W + x) * C
                for c in 0..<C { out[c] = 0 }
                let y0 = Int(sy.rounded(.down)), x0 = Int(sx.rounded(.down))
                let fy = Float(sy - Double(y0)), fx = Float(sx - Double(x0))
                for (yy, wy) in [(y0, 1 - fy), (y0 + 1, fy)] where yy >= 0 && yy < H && wy > 0 {
                    for (xx, wx) in [(x0, 1 - fx), (x0 + 1, fx)] where xx >= 0 && xx < W && wx > 0 {
                        let p = src + (yy * W + xx) * C, w = wy * wx
                        for c in 0..<C { out[c] += w * p[c] }
                    }
                }
            }
        }
    }
}
