import CZlib
import Foundation

/// Decodes PNG images (8-bit grey, grey+alpha, RGB, RGBA and palette; not interlaced) into
/// height × width × channels bytes, for `infer` on a folder of images.
public enum PNGDecoder {
    public struct Image {
        public var width: Int, height: Int, channels: Int
        public var pixels: [UInt8]
    }

    public static func decode(_ data: [UInt8], file: String) throws -> Image {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard data.count > 8, Array(data[0..<8]) == signature else {
            throw DatasetError("\(file): not a PNG file (bad signature)")
        }
        var at = 8
        var width = 0, height = 0, depth = 0, colour = 0, interlace = 0
        var idat: [UInt8] = [], palette: [UInt8] = []
        func be32(_ i: Int) -> Int {
            Int(data[i]) << 24 | Int(data[i + 1]) << 16 | Int(data[i + 2]) << 8 | Int(data[i + 3])
        }
        while at + 8 <= data.count {
            let length = be32(at), type = String(decoding: data[(at + 4)..<(at + 8)], as: UTF8.self)
            guard length >= 0, at + 12 + length <= data.count else {
                throw DatasetError("\(file): truncated chunk \(type)")
            }
            let body = Array(data[(at + 8)..<(at + 8 + length)])
            switch type {
            case "IHDR":
                guard body.count == 13 else { throw DatasetError("\(file): bad IHDR") }
                width = Int(body[0]) << 24 | Int(body[1]) << 16 | Int(body[2]) << 8 | Int(body[3])
                height = Int(body[4]) << 24 | Int(body[5]) << 16 | Int(body[6]) << 8 | Int(body[7])
                (depth, colour, interlace) = (Int(body[8]), Int(body[9]), Int(body[12]))
            case "PLTE": palette = body
            case "IDAT": idat += body
            default: break
            }
            at += 12 + length
            if type == "IEND" { break }
        }
        guard width > 0, height > 0, width <= 16384, height <= 16384 else { throw DatasetError("\(file): bad size") }
        guard depth == 8, interlace == 0, [0, 2, 3, 4, 6].contains(colour) else {
            throw DatasetError(
                "\(file): only 8-bit, non-interlaced PNG is decoded (depth \(depth), colour type \(colour))")
        }
        let stored = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][colour]!
        let raw = try inflate(idat, expected: height * (1 + width * stored), file: file)
        var rows = [UInt8](repeating: 0, count: height * width * stored)
        let stride = width * stored
        for y in 0..<height {
            let filter = raw[y * (stride + 1)], src = y * (stride + 1) + 1
            for x in 0..<stride {
                let a = x >= stored ? Int(rows[y * stride + x - stored]) : 0
                let b = y > 0 ? Int(rows[(y - 1) * stride + x]) : 0
                let c = x >= stored && y > 0 ? Int(rows[(y - 1) * stride + x - stored]) : 0
                let v = Int(raw[src + x])
                let predicted: Int
                switch filter {
                case 0: predicted = 0
                case 1: predicted = a
                case 2: predicted = b
                case 3: predicted = (a + b) / 2
                case 4:
                    let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    predicted = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
                default: throw DatasetError("\(file): row \(y) has unknown filter \(filter)")
                }
                rows[y * stride + x] = UInt8((v + predicted) & 0xFF)
            }
        }
        // Alpha dropped; a palette expanded to RGB.
        switch colour {
        case 3:
            guard !palette.isEmpty else { throw DatasetError("\(file): palette image without PLTE") }
            let px = rows.flatMap { i -> [UInt8] in
                let k = Int(i) * 3
                return k + 2 < palette.count ? Array(palette[k..<(k + 3)]) : [0, 0, 0]
            }
            return Image(width: width, height: height, channels: 3, pixels: px)
        case 4, 6:
            let keep = stored - 1
            let px = (0..<(width * height)).flatMap { i in rows[(i * stored)..<(i * stored + keep)] }
            return Image(width: width, height: height, channels: keep, pixels: px)
        default:
            return Image(width: width, height: height, channels: stored, pixels: rows)
        }
    }

    static func inflate(_ input: [UInt8], expected: Int, file: String) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: expected)
        var size = uLongf(expected)
        let rc = out.withUnsafeMutableBufferPointer { o in
            input.withUnsafeBufferPointer { i in uncompress(o.baseAddress, &size, i.baseAddress, uLong(i.count)) }
        }
        guard rc == Z_OK, Int(size) == expected else {
            throw DatasetError("\(file): corrupt image data (zlib \(rc), \(size) of \(expected) bytes)")
        }
        return out
    }
}
