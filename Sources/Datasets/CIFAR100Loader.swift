import Foundation
import Tensor

// each record: 1 coarse label byte, 1 fine label byte, then 3072 bytes: 1024 red, 1024 green,
// 1024 blue (32x32, row-major)
/// CIFAR-100, binary version (train.bin, test.bin, fine_label_names.txt), with its 100 fine
/// labels, scaled by 1/255 to NHWC (N,32,32,3).
public enum CIFAR100Loader {
    static let record = 3074

    public static func load(dir: String, train: Bool) throws -> Dataset {
        let file = (dir as NSString).appendingPathComponent(train ? "train.bin" : "test.bin")
        let b = try DataFile.read(file)
        guard !b.isEmpty, b.count % record == 0 else {
            throw DatasetError(
                "\(file): \(b.count) bytes is not a whole number of 3074-byte CIFAR-100 records (truncated or not the "
                    + "binary version); the last record starts at byte \(b.count / record * record)")
        }
        let (t, labels) = try CIFARRecords.decode(b, record: record, labelOffset: 1, classes: 100, file: file)
        let names = ClassNames.read((dir as NSString).appendingPathComponent("fine_label_names.txt"), count: 100)
        return Dataset(name: "cifar100", images: t, labels: labels, classNames: names)
    }
}

/// Class names from a text file with one name per line (the archives' *names.txt), or the class
/// indices when the file is absent or short.
enum ClassNames {
    static func read(_ path: String, count: Int) -> [String] {
        let lines = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "")
            .split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return lines.count >= count ? Array(lines.prefix(count)) : (0..<count).map(String.init)
    }
}
