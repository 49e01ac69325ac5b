# Turns the comparison's raw lines "<label> RESULT <side> <case> <threads> <value> <unit>" into one
# Markdown table per label: medians with min–max over the runs (one value per process), the
# keel/LibTorch ratio of the medians and keel's speedup (LibTorch time / keel time, or keel images/s
# / LibTorch images/s), then keel's 2-thread over 1-thread training-step throughput.

function median_of(key,    n, i, j, v, t) {
  n = count[key]
  for (i = 1; i <= n; ++i) v[i] = values[key, i]
  for (i = 2; i <= n; ++i) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; --j) v[j + 1] = v[j]; v[j + 1] = t }
  lo[key] = v[1]; hi[key] = v[n]
  return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}

# Losses (the twins' check) with five digits, everything else with three or the integer part.
function fmt(x, u) { if (u == "loss") return sprintf("%.5g", x); return x >= 100 ? sprintf("%.0f", x) : x >= 10 ? sprintf("%.1f", x) : sprintf("%.3g", x) }

function cell(key, u,    m) {
  if (!(key in count)) return "—"
  m = median_of(key)
  return fmt(m, u) " (" fmt(lo[key], u) "–" fmt(hi[key], u) ", n=" count[key] ")"
}

$2 == "RESULT" {
  label = $1; side = $3; name = $4; threads = $5
  row = label SUBSEP name SUBSEP threads
  if (!(row in seen)) { seen[row] = 1; rows[label, ++nrows[label]] = name SUBSEP threads }
  if (!(label in labelseen)) { labelseen[label] = 1; labels[++nlabels] = label }
  key = label SUBSEP side SUBSEP name SUBSEP threads
  values[key, ++count[key]] = $6
  unit[name] = $7
}

END {
  for (l = 1; l <= nlabels; ++l) {
    label = labels[l]
    print "\n### " label "\n"
    print "| case | threads | unit | keel median (min–max) | LibTorch median (min–max) | keel/LibTorch | keel speedup |"
    print "|---|---|---|---|---|---|---|"
    for (r = 1; r <= nrows[label]; ++r) {
      split(rows[label, r], parts, SUBSEP); name = parts[1]; threads = parts[2]
      k = label SUBSEP "keel" SUBSEP name SUBSEP threads; t = label SUBSEP "libtorch" SUBSEP name SUBSEP threads
      kc = cell(k, unit[name]); tc = cell(t, unit[name]); ratio = "—"; speedup = "—"
      if ((k in count) && (t in count)) {
        km = median_of(k); tm = median_of(t)
        if (tm != 0) ratio = sprintf("%.2f", km / tm)
        if (unit[name] == "ms" && km != 0) speedup = sprintf("%.2f×", tm / km)
        if (unit[name] == "img/s" && tm != 0) speedup = sprintf("%.2f×", km / tm)
      }
      print "| " name " | " threads " | " unit[name] " | " kc " | " tc " | " ratio " | " speedup " |"
    }
    k1 = label SUBSEP "keel" SUBSEP "train_step_convnet" SUBSEP 1; k2 = label SUBSEP "keel" SUBSEP "train_step_convnet" SUBSEP 2
    if ((k1 in count) && (k2 in count))
      printf "\nkeel convnet training step, 2-thread / 1-thread throughput: %.2f×\n", median_of(k1) / median_of(k2)
    t1 = label SUBSEP "libtorch" SUBSEP "train_step_convnet" SUBSEP 1; t2 = label SUBSEP "libtorch" SUBSEP "train_step_convnet" SUBSEP 2
    if ((t1 in count) && (t2 in count))
      printf "LibTorch convnet training step, 2-thread / 1-thread throughput: %.2f×\n", median_of(t1) / median_of(t2)
  }
}
