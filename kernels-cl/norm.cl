// Cross-channel LRN and layer norm over channels (NCHW, C channels of HW pixels). Both reduce
// across channels at one pixel, HW apart in memory; neighbouring work-items take neighbouring
// pixels, so each channel's loads are contiguous across a work-group.

// y = x / (k + coef * sum x^2)^beta, the sum over channels [c - before, c + after] clipped,
// coef = alpha / size. One work-item per output: global (HW, C, N), bounds-checked in dim 0.
// beta 0.75 (beta_is_075): d^0.75 = sqrt(d) * sqrt(sqrt(d)); otherwise pow.
kernel void lrn(global const float* x, global float* y, int C, int HW, int before, int after,
                float coef, float beta, int beta_is_075, float k) {
  int p = get_global_id(0);
  int c = get_global_id(1);
  int n = get_global_id(2);
  if (p >= HW) {
    return;
  }
  const global float* xi = x + (size_t)n * C * HW + p;
  int lo = max(0, c - before);
  int hi = min(C - 1, c + after);
  float s = 0.0f;
  for (int j = lo; j <= hi; j++) {
    float v = xi[(size_t)j * HW];
    s += v * v;
  }
  float d = k + coef * s;
  float den;
  if (beta_is_075) {
    float r = sqrt(d);
    den = r * sqrt(r);
  } else {
    den = pow(d, beta);
  }
  y[(size_t)n * C * HW + (size_t)c * HW + p] = xi[(size_t)c * HW] / den;
}

// Per pixel: mean and biased variance over the C channels (two passes), then
// y = (x - mean) / sqrt(var + eps) * gamma[c] + beta[c]. One work-item per pixel: global (HW, N),
// bounds-checked. y may be x (each work-item reads its pixel's channels before writing them).
kernel void layer_norm(global const float* x, global const float* gamma, global const float* beta,
                       float eps, global float* y, int C, int HW) {
  int p = get_global_id(0);
  int n = get_global_id(1);
  if (p >= HW) {
    return;
  }
  size_t base = (size_t)n * C * HW + p;
  float s = 0.0f;
  for (int c = 0; c < C; c++) {
    s += x[base + (size_t)c * HW];
  }
  float mean = s / (float)C;
  float q = 0.0f;
  for (int c = 0; c < C; c++) {
    float d = x[base + (size_t)c * HW] - mean;
    q += d * d;
  }
  float inv = 1.0f / sqrt(q / (float)C + eps);
  for (int c = 0; c < C; c++) {
    size_t i = base + (size_t)c * HW;
    y[i] = (x[i] - mean) * inv * gamma[c] + beta[c];
  }
}
