// y = act(a + b), elementwise (a residual join); y may be a or b. Global (n), bounds-checked.
kernel void add(global const float* a, global const float* b, global float* y, int n, int act) {
  int i = get_global_id(0);
  if (i < n) {
    y[i] = ck_activate(a[i] + b[i], act);
  }
}
