import Datasets
import Figures
import Foundation
import Layers
import Tensor
import Training

/// `cnnscope evaluate`: a model (a .keras archive, an ONNX file, or a profile with its weights)
/// on a data set's test images, as Keras's `model.evaluate` reports it: accuracy and
/// sparse categorical cross-entropy over the softmax outputs (probabilities clipped at 1e-7).
public struct EvaluationJob {
    public var model: String
    /// Weights for a profile: .cnnw from `cnnscope train`, or a Keras .h5 / .weights.h5 file.
    public var weights: String?
    public var data = DataSelection()
    public var batchSize = 64
    public var convAlgorithm = "auto"
    /// A CSV file for the predicted class of every test image (index, label, predicted, probability).
    public var predictions: String?

    public init(model: String) { self.model = model }

    public struct Result: Codable, Sendable {
        public var model: String
        public var dataset: String
        public var images: Int
        public var accuracy: Double
        public var loss: Double
        public var machine: String
    }

    public func validate() throws {
        if batchSize < 1 { throw WorkflowError("--batch-size must be at least 1, got \(batchSize).") }
    }

    public func run(in env: RunEnvironment) throws -> (result: Result, text: String) {
        let profile = try env.model(model)
        let (_, _, test) = try data.load(seed: 42, environment: env.environment)
        let inference = ModelInference(
            runner: env.pool, policy: try ConvAlgorithmPolicy.named(convAlgorithm, selector: env.selector),
            options: env.options)
        let built = try inference.build(profile, imageShape: test.imageShape, weights: weights)
        let out = try inference.run(built, probabilities: true, images: test.images, batchSize: batchSize)
        env.finish()
        let classes = out.values.count / max(1, test.count)
        guard classes >= 2, test.labels.allSatisfy({ Int($0) < classes }) else {
            throw WorkflowError(
                "\(model): the model gives \(classes) outputs per image, fewer than the data set's classes")
        }
        var correct = 0, loss = 0.0
        var csv = "index,label,predicted,probability\n"
        for (i, label) in test.labels.enumerated() {
            let row = Array(out.values[(i * classes)..<((i + 1) * classes)])
            let best = row.indices.max { row[$0] < row[$1] }!
            if best == Int(label) { correct += 1 }
            loss -= log(Double(min(max(row[Int(label)], 1e-7), 1 - 1e-7)))
            if predictions != nil { csv += "\(i),\(label),\(best),\(row[best])\n" }
        }
        if let p = predictions { try AtomicFile.write(csv, to: p) }
        let result = Result(
            model: profile.name, dataset: data.dataset.rawValue, images: test.count,
            accuracy: Double(correct) / Double(test.count), loss: loss / Double(test.count),
            machine: env.identityName)
        let text =
            String(
                format: "%@ on %@ (%d test images): accuracy %.4f, loss %.4f", profile.name, data.dataset.rawValue,
                test.count, result.accuracy, result.loss) + (predictions.map { "\nWrote \($0)" } ?? "")
        return (result, text)
    }
}
