#pragma once
// Training curves as a self-contained SVG, without a plotting dependency.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace keel {

// One panel per metric family: a key and its "val_" twin share a panel (loss with val_loss, accuracy
// with val_accuracy), every other key gets its own; "loss" comes first, the rest in key order. x is the
// epoch counted from 0 as in History::epoch and CSVLogger's rows, y spans the panel's finite values; both axes carry tick labels, each panel a legend.
// Each series is one polyline (training solid blue, validation dashed orange) with a dot per point;
// NaN and infinite values are left out. A dashed green line labelled "best epoch N" marks the best
// epoch in every panel: the lowest finite val_loss, or loss without validation (best_index in
// history.h), the epoch CSVLogger's last "best" row names. Returns the SVG text. ValueError when
// `history` is empty or holds no values at all.
// The first values belong to epoch `first_epoch`: History::epoch's first entry, not 0, after a fit
// resumed with initial_epoch.
std::string history_svg(const std::map<std::string, std::vector<double>>& history, const std::string& title,
                        std::int64_t first_epoch = 0);

// history_svg written to `path`; IOError naming the path when the file cannot be written.
void write_history_svg(const std::filesystem::path& path, const std::map<std::string, std::vector<double>>& history,
                       const std::string& title, std::int64_t first_epoch = 0);

}  // namespace keel
