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
