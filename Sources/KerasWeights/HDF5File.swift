import CHDF5
import Foundation

/// A failed HDF5 call, with the file, the object and what to do.
public struct HDF5Error: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ s: String) { description = s }
}

/// The one door to the HDF5 C library: every call goes through `check`, which turns HDF5's
/// negative return codes into `HDF5Error` naming the file and the object. Reads Keras weight
/// files (groups, string attributes, float datasets) and writes them (tests build their own).
public final class HDF5File {
    public let path: String
    let id: hid_t

    static let initialised: Void = { cnns_h5_quiet() }()

    /// Opens an existing file read-only.
    public init(reading path: String) throws {
        _ = Self.initialised
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            throw HDF5Error("\(path): no such file; pass the Keras weight file (*.h5) with --weights")
        }
        guard H5Fis_hdf5(path) > 0 else {
            throw HDF5Error(
                """
                \(path): not an HDF5 file (bad signature); expected a Keras weight file such as \
                mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5
                """
            )
        }
        id = H5Fopen(path, cnns_h5f_acc_rdonly(), cnns_h5p_default())
        guard id >= 0 else { throw HDF5Error("\(path): HDF5 could not open the file (truncated or corrupt?)") }
    }

    /// Creates (or truncates) a file for writing.
    public init(creating path: String) throws {
        _ = Self.initialised
        self.path = path
        id = H5Fcreate(path, cnns_h5f_acc_trunc(), cnns_h5p_default(), cnns_h5p_default())
        guard id >= 0 else {
            throw HDF5Error("\(path): HDF5 could not create the file (check the folder exists and is writable)")
        }
    }

    deinit { H5Fclose(id) }

    @discardableResult
    func check<T: BinaryInteger>(_ rc: T, _ what: @autoclosure () -> String) throws -> T {
        guard rc >= 0 else { throw HDF5Error("\(path): \(what())") }
        return rc
    }

    /// Whether a link (group or dataset) exists at `path` ("/a/b"), checked level by level.
    public func exists(_ objectPath: String) -> Bool {
        var prefix = ""
        for part in objectPath.split(separator: "/") {
            prefix += "/" + part
            guard H5Lexists(id, prefix, cnns_h5p_default()) > 0 else { return false }
        }
        return true
    }

    // MARK: reading

    /// The names of the links in the group at `objectPath`, in name order.
    public func children(_ objectPath: String) throws -> [String] {
        let g = try check(H5Gopen2(id, objectPath, cnns_h5p_default()), "cannot open the group '\(objectPath)'")
        defer { H5Gclose(g) }
        var info = H5G_info_t()
        try check(H5Gget_info(g, &info), "cannot list the group '\(objectPath)'")
        return try (0..<Int(info.nlinks)).map { i in
            let n = try check(
                H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, hsize_t(i), nil, 0, cnns_h5p_default()),
                "cannot read link \(i) of '\(objectPath)'")
            var buf = [CChar](repeating: 0, count: Int(n) + 1)
            H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, hsize_t(i), &buf, buf.count, cnns_h5p_default())
            return String(cString: buf)
        }
    }

    /// A string-array attribute of the object at `objectPath` (fixed-length or variable-length strings).
    public func stringsAttribute(_ name: String, of objectPath: String = "/") throws -> [String]? {
        let obj = try check(H5Oopen(id, objectPath, cnns_h5p_default()), "cannot open '\(objectPath)'")
        defer { H5Oclose(obj) }
        guard H5Aexists(obj, name) > 0 else { return nil }
        let attr = try check(
            H5Aopen(obj, name, cnns_h5p_default()), "cannot open attribute '\(name)' of '\(objectPath)'")
        defer { H5Aclose(attr) }
        let ftype = try check(H5Aget_type(attr), "attribute '\(name)' of '\(objectPath)' has no type")
        defer { H5Tclose(ftype) }
        guard H5Tget_class(ftype) == H5T_STRING else {
            throw HDF5Error("\(path): attribute '\(name)' of '\(objectPath)' is not a string array")
        }
        let space = try check(H5Aget_space(attr), "attribute '\(name)' has no dataspace")
        defer { H5Sclose(space) }
        let n = Int(H5Sget_simple_extent_npoints(space))
        guard n >= 0 else { throw HDF5Error("\(path): attribute '\(name)' of '\(objectPath)' has a bad size") }
        if n == 0 { return [] }
        if H5Tis_variable_str(ftype) > 0 {
            let mem = try check(H5Tcopy(cnns_h5t_c_s1()), "cannot make a string type")
            defer { H5Tclose(mem) }
            try check(H5Tset_size(mem, cnns_h5t_variable()), "cannot make a variable string type")
            var ptrs = [UnsafeMutablePointer<CChar>?](repeating: nil, count: n)
            try check(H5Aread(attr, mem, &ptrs), "cannot read attribute '\(name)' of '\(objectPath)'")
            defer { for p in ptrs { free(p) } }
            return ptrs.map { $0.map { String(cString: $0) } ?? "" }
        }
        let size = H5Tget_size(ftype)
        guard size > 0 && size < 1 << 16 else {
            throw HDF5Error("\(path): attribute '\(name)' has strings of size \(size)")
        }
        let mem = try check(H5Tcopy(cnns_h5t_c_s1()), "cannot make a string type")
        defer { H5Tclose(mem) }
        try check(H5Tset_size(mem, size), "cannot size a string type")
        var buf = [CChar](repeating: 0, count: n * size + 1)
        try check(H5Aread(attr, mem, &buf), "cannot read attribute '\(name)' of '\(objectPath)'")
        return (0..<n).map { i in
            let bytes = buf[(i * size)..<((i + 1) * size)].prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// A float dataset: its dimensions and values (converted to Float by HDF5).
    public func floats(_ objectPath: String) throws -> (dims: [Int], values: [Float]) {
        let ds = try check(H5Dopen2(id, objectPath, cnns_h5p_default()), "no dataset '\(objectPath)'")
        defer { H5Dclose(ds) }
        let space = try check(H5Dget_space(ds), "dataset '\(objectPath)' has no dataspace")
        defer { H5Sclose(space) }
        let rank = Int(try check(H5Sget_simple_extent_ndims(space), "dataset '\(objectPath)' has a bad rank"))
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        try check(H5Sget_simple_extent_dims(space, &dims, nil), "dataset '\(objectPath)' has bad dimensions")
        let shape = rank == 0 ? [] : dims.prefix(rank).map { Int($0) }
        let count = shape.reduce(1, *)
        guard count < 1 << 31 else { throw HDF5Error("\(path): dataset '\(objectPath)' is too large (\(shape))") }
        var values = [Float](repeating: 0, count: count)
        try check(
            H5Dread(ds, cnns_h5t_native_float(), cnns_h5s_all(), cnns_h5s_all(), cnns_h5p_default(), &values),
            "cannot read dataset '\(objectPath)' as floats (truncated file or a non-numeric dataset?)")
        return (shape, values)
    }

    // MARK: writing

    /// Creates the groups along `objectPath` that do not exist yet.
    public func createGroups(_ objectPath: String) throws {
        var prefix = ""
        for part in objectPath.split(separator: "/") {
            prefix += "/" + part
            if H5Lexists(id, prefix, cnns_h5p_default()) > 0 { continue }
            let g = try check(
                H5Gcreate2(id, prefix, cnns_h5p_default(), cnns_h5p_default(), cnns_h5p_default()),
                "cannot create group '\(prefix)'")
            H5Gclose(g)
        }
    }

    /// Writes a float32 dataset (parent groups are created).
    public func write(_ values: [Float], dims: [Int], to objectPath: String) throws {
        guard values.count == dims.reduce(1, *) else {
            throw HDF5Error("\(path): '\(objectPath)': \(values.count) values for shape \(dims)")
        }
        let parent = objectPath.split(separator: "/").dropLast().joined(separator: "/")
        if !parent.isEmpty { try createGroups(parent) }
        var hd = dims.map { hsize_t($0) }
        let space = try check(
            H5Screate_simple(Int32(dims.count), &hd, nil), "cannot make a dataspace for '\(objectPath)'")
        defer { H5Sclose(space) }
        let ds = try check(
            H5Dcreate2(
                id, objectPath, cnns_h5t_ieee_f32le(), space, cnns_h5p_default(), cnns_h5p_default(), cnns_h5p_default()
            ),
            "cannot create dataset '\(objectPath)'")
        defer { H5Dclose(ds) }
        try check(
            values.withUnsafeBufferPointer {
                H5Dwrite(
                    ds, cnns_h5t_native_float(), cnns_h5s_all(), cnns_h5s_all(), cnns_h5p_default(), $0.baseAddress)
            },
            "cannot write dataset '\(objectPath)'")
    }

    /// Writes a fixed-length string-array attribute, as h5py writes numpy byte strings.
    public func writeStrings(_ strings: [String], attribute name: String, of objectPath: String = "/") throws {
        if objectPath != "/" { try createGroups(objectPath) }
        let obj = try check(H5Oopen(id, objectPath, cnns_h5p_default()), "cannot open '\(objectPath)'")
        defer { H5Oclose(obj) }
        let size = max(1, strings.map { $0.utf8.count }.max() ?? 1)
        let type = try check(H5Tcopy(cnns_h5t_c_s1()), "cannot make a string type")
        defer { H5Tclose(type) }
        try check(H5Tset_size(type, size), "cannot size a string type")
        var dims = [hsize_t(strings.count)]
        let space = try check(H5Screate_simple(1, &dims, nil), "cannot make a dataspace")
        defer { H5Sclose(space) }
        let attr = try check(
            H5Acreate2(obj, name, type, space, cnns_h5p_default(), cnns_h5p_default()),
            "cannot create attribute '\(name)'")
        defer { H5Aclose(attr) }
        var buf = [CChar](repeating: 0, count: size * max(1, strings.count))
        for (i, s) in strings.enumerated() {
            for (j, b) in s.utf8.enumerated() { buf[i * size + j] = CChar(bitPattern: b) }
        }
        try check(H5Awrite(attr, type, &buf), "cannot write attribute '\(name)'")
    }
}
