import Tensor

/// Images (N,H,W,C) scaled to [0,1] and integer labels, with class names.
public final class Dataset {
    public let images: Tensor
    public let labels: [Int32]
    public let classNames: [String]
    public let name: String

    public init(name: String, images: Tensor, labels: [Int32], classNames: [String]) {
        precondition(images.shape[0] == labels.count)
        self.name = name
        self.images = images
        self.labels = labels
        self.classNames = classNames
    }

    public var count: Int { labels.count }
    public var imageShape: [Int] { Array(images.shape.dims.dropFirst()) }

    /// Images `range` as a new dataset (copied).
    public func slice(_ range: Range<Int>) -> Dataset {
        let per = imageShape.reduce(1, *)
        let t = try! Tensor([range.count] + imageShape, zeroed: false)
        t.data.update(from: images.data + range.lowerBound * per, count: range.count * per)
        return Dataset(name: name, images: t, labels: Array(labels[range]), classNames: classNames)
    }

    /// The lab's validation split: the last `validation` images become the validation set.
    public func split(validation: Int) -> (train: Dataset, validation: Dataset) {
        let v = min(max(0, validation), count - 1)
        return (slice(0..<(count - v)), slice((count - v)..<count))
    }

    /// The first `n` images.
    public func prefix(_ n: Int) -> Dataset { slice(0..<min(n, count)) }

    /// The images of `classes` only (in their order), relabelled 0..<classes.count, with at most
    /// `limit` images: how the transfer experiment splits Fashion-MNIST into 0-4 and 5-9.
    public func subset(classes: [Int], limit: Int? = nil) -> Dataset {
        var map = [Int32: Int32]()
        for (i, c) in classes.enumerated() { map[Int32(c)] = Int32(i) }
        var picked: [Int] = []
        for (i, l) in labels.enumerated() where map[l] != nil {
            picked.append(i)
            if let limit, picked.count >= limit { break }
        }
        let per = imageShape.reduce(1, *)
        let t = try! Tensor([picked.count] + imageShape, zeroed: false)
        for (j, i) in picked.enumerated() { (t.data + j * per).update(from: images.data + i * per, count: per) }
        let names = classes.map { $0 < classNames.count ? classNames[$0] : "class \($0)" }
        return Dataset(name: name, images: t, labels: picked.map { map[labels[$0]]! }, classNames: names)
    }

    /// Shape-correct random data for runs that only measure speed.
    public static func synthetic(count: Int, shape: [Int], classes: Int = 10, seed: UInt64) -> Dataset {
        var rng = SeededGenerator(seed: seed)
        let t = try! Tensor([count] + shape)
        t.fillUniform(&rng, low: 0, high: 1)
        let labels = (0..<count).map { _ in Int32(rng.nextInt(classes)) }
        return Dataset(name: "synthetic", images: t, labels: labels, classNames: (0..<classes).map { "class \($0)" })
    }
}

/// A data file that is missing, corrupt or inconsistent: names the file, the byte offset and what was expected.
public struct DatasetError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ s: String) { description = s }
}
