import Foundation
import Tensor

// train_X.bin / test_X.bin: per image 3 channels of 96x96 bytes, each channel column-major
// (the row index varies fastest); train_y.bin / test_y.bin: one label byte per image, 1...10.
/// STL-10, binary version (the labelled train and test sets; the unlabelled split is not read),
/// scaled by 1/255 to NHWC (N,96,96,3), labels 0...9.
public enum STL10Loader {
    static let side = 96
    static let imageBytes = 3 * 96 * 96

    public static func load(dir: String, train: Bool) throws -> Dataset {
        let xFile = (dir as NSString).appendingPathComponent(train ? "train_X.bin" : "test_X.bin")
        let yFile = (dir as NSString).appendingPathComponent(train ? "train_y.bin" : "test_y.bin")
        let x = try DataFile.read(xFile), y = try DataFile.read(yFile)
        guard !x.isEmpty, x.count % imageBytes == 0 else {
            throw DatasetError(
                "\(xFile): \(x.count) bytes is not a whole number of 27,648-byte STL-10 images (truncated?)")
        }
        let n = x.count / imageBytes
        guard y.count == n else {
            throw DatasetError("\(yFile): \(y.count) labels for the \(n) images of \(xFile); the two files must match")
        }
        let t = try Tensor([n, side, side, 3], zeroed: false)
        var labels = [Int32](repeating: 0, count: n)
        try x.withUnsafeBufferPointer { p in
            for i in 0..<n {
                guard (1...10).contains(y[i]) else {
                    throw DatasetError("\(yFile): byte \(i): label \(y[i]), expected 1..10")
                }
                labels[i] = Int32(y[i]) - 1
                let src = i * imageBytes
                let out = t.data + i * imageBytes
                for c in 0..<3 {
                    for col in 0..<side {
                        for row in 0..<side {
                            out[(row * side + col) * 3 + c] =
                                Float(p[src + c * side * side + col * side + row]) * (1 / 255)
                        }
                    }
                }
            }
        }
        let names = ClassNames.read((dir as NSString).appendingPathComponent("class_names.txt"), count: 10)
        return Dataset(name: "stl10", images: t, labels: labels, classNames: names)
    }
}
