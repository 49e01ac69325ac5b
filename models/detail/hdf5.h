#pragma once
// Keras's .h5 files: files opened from a path or from bytes in memory, groups, string attributes and
// float datasets. A file opened for reading is read whole by libhdf5 in a child process first
// (hdf5_isolation.h) and served from what it sent back; a file created for writing is a small RAII layer
// over libhdf5's C API. Every failure becomes a keel::IOError that names the file and the object path;
// libhdf5's own error printing is silenced.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "keel/core/dtype.h"
#include "keel/core/shape.h"
#include "keel/core/tensor.h"

namespace keel::io::hdf5 {

struct Snapshot;
struct SnapshotGroup;
struct SnapshotDataset;

// An HDF5 identifier (hid_t) closed by the matching H5?close when the last copy goes away.
class Handle {
 public:
  Handle() = default;
  Handle(std::int64_t id, int (*close)(std::int64_t));
  std::int64_t id() const;
  explicit operator bool() const { return static_cast<bool>(id_); }

 private:
  std::shared_ptr<const std::int64_t> id_;
};

// How a file is opened for reading.
struct OpenOptions {
  // Top-level groups no reader will ask into (a Keras legacy file's "optimizer_weights", which keel does not
  // restore): listed among the root's members, never read. Asking into one is an IOError.
  std::vector<std::string> unread_groups;
};

// The order in which Group::children lists a group's members.
enum class Order { name, creation };

// What a dataset holds, read from its header without reading its data.
struct DatasetInfo {
  Shape shape;
  // float32 or float64; std::nullopt for any other element type (integers, strings, compound, ...).
  std::optional<DType> dtype;
  // Any integer element type, signed or unsigned (Keras's optimizer iteration count).
  bool integer = false;
};

// A group of a file being read (served from its snapshot) or written (through libhdf5).
class Group {
 public:
  // The group's path inside the file ("/", "/model_weights/dense").
  const std::string& path() const { return path_; }
  const std::string& file_name() const { return file_name_; }

  bool has_group(const std::string& name) const;
  bool has_dataset(const std::string& name) const;
  bool has_attribute(const std::string& name) const;
  Group group(const std::string& name) const;  // `name` may be a relative path "a/b"
  Group create_group(const std::string& name) const;
  // Names of the direct members (groups and datasets); Order::creation needs a file that tracks creation
  // order (create() does, h5py does not by default), otherwise it is an IOError.
  std::vector<std::string> children(Order order = Order::name) const;

  // A scalar string attribute, fixed or variable length. An array attribute of one string is accepted.
  std::string string_attribute(const std::string& name) const;
  // A one-dimensional string array attribute (or a scalar, read as a list of one), fixed or variable length.
  // An empty array of any element type is an empty list (h5py writes [] as an empty float64 array).
  std::vector<std::string> string_list_attribute(const std::string& name) const;
  // Written as variable-length UTF-8 strings, as h5py writes Python str.
  void write_string_attribute(const std::string& name, const std::string& value) const;
  void write_string_list_attribute(const std::string& name, const std::vector<std::string>& values) const;

  DatasetInfo dataset_info(const std::string& name) const;
  // Reads a float dataset converted to `dtype` (float32 or float64), or an integer dataset converted to int64.
  // Its shape must equal `expected_shape` and its element type must be float32 or float64 (an integer type for
  // int64); both are checked before anything is allocated.
  Tensor read_dataset(const std::string& name, const Shape& expected_shape, DType dtype) const;
  // Writes a float32, float64 or int64 tensor as a new dataset of that element type and the tensor's shape.
  void write_dataset(const std::string& name, const Tensor& tensor) const;

 private:
  friend class File;
  Group(Handle handle, std::string path, std::string file_name);
  Group(std::shared_ptr<const Snapshot> snapshot, const SnapshotGroup& node, std::string path, std::string file_name);
  std::string child_path(const std::string& name) const;
  [[noreturn]] void fail(const std::string& object, const std::string& problem) const;
  // The snapshot's group or dataset at relative path `name`, or nullptr.
  const SnapshotGroup* find_group(const std::string& name) const;
  const SnapshotDataset* find_dataset(const std::string& name) const;
  const SnapshotDataset& snapshot_dataset(const std::string& name) const;  // IOError when missing or unreadable
  Handle open_dataset(const std::string& name) const;
  DatasetInfo dataset_info(const std::string& name, const Handle& dataset) const;

  // Reading: the snapshot and this group's node in it; writing: the libhdf5 handle.
  std::shared_ptr<const Snapshot> snapshot_;
  const SnapshotGroup* node_ = nullptr;
  Handle handle_;
  std::string path_;
  std::string file_name_;
};

class File {
 public:
  // Opens a file for reading: libhdf5 reads it whole in a child process, and every read below is served
  // from what it sent back.
  static File open(const std::filesystem::path& path, const OpenOptions& options = {});
  // Opens an HDF5 file held in memory, as open() does; `name` names it in errors.
  static File open_bytes(std::span<const std::byte> bytes, const std::string& name, const OpenOptions& options = {});
  // Creates (or truncates) a file for writing; its groups track creation order.
  static File create(const std::filesystem::path& path);
  // Creates a file held only in memory (libhdf5's core driver); image() gives its bytes.
  static File create_in_memory(const std::string& name);
  // The file's HDF5 signature, "\x89HDF\r\n\x1a\n".
  static bool has_signature(std::span<const std::byte> first_bytes);

  Group root() const;
  const std::string& name() const { return name_; }
  // Writes everything to disk; also happens when the last handle into the file closes (created files).
  void flush() const;
  // The whole file as bytes, after a flush (a file from create_in_memory, to be stored elsewhere).
  std::string image() const;

 private:
  File(Handle handle, std::string name);
  File(std::shared_ptr<const Snapshot> snapshot, std::string name);
  void require_writable(const char* what) const;
  std::shared_ptr<const Snapshot> snapshot_;
  Handle handle_;
  std::string name_;
};

}  // namespace keel::io::hdf5
