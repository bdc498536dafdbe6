// y = act(a + b), elementwise (a residual join); y may be a or b. Global (n), bounds-checked.
kernel void add(global const float* a, global const float* b, global float* y, int n, int act) {
  int i = get_global_id(0);
  if (i < n) {
    y[i] = ck_activate(a[i] + b[i], act);
  }
}

// y[i] = x[i] * s[i / hw]: one scale per (image, channel) plane of hw elements (squeeze-and-
// excitation's channel scaling). y may be x. Global (n), bounds-checked.
kernel void scale_channels(global const float* x, global const float* s, global float* y, int n,
                           int hw) {
  int i = get_global_id(0);
  if (i < n) {
    y[i] = x[i] * s[i / hw];
  }
}

// Reorder between NCHW and NHWC, one output element per work item: c channels and p pixels per
// image. to_nhwc 1: y[(img*p + q)*c + ch] = x[(img*c + ch)*p + q]; 0: the inverse. Indices in
// 64 bits (the product img * c * p may pass 2^31 before the bound check matters). Global (n).
kernel void reorder(global const float* x, global float* y, int n, int c, int p, int to_nhwc) {
  long i = get_global_id(0);
  if (i < n) {
    long cp = (long)c * p;
    long img = i / cp;
    long r = i - img * cp;
    if (to_nhwc) {
      long q = r / c;
      y[i] = x[img * cp + (r - q * c) * p + q];
    } else {
      long ch = r / p;
      y[i] = x[img * cp + (r - ch * p) * c + ch];
    }
  }
}
